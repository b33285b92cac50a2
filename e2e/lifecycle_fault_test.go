package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParallelLifecycle: 20 containers started with run -d at once while
// others are created, inspected and removed: every command succeeds, no
// lock error, no corrupt record, and every detached container runs.
func TestParallelLifecycle(t *testing.T) {
	s := shared(t)
	pfx := uniqueName(t)
	const runs, churn = 20, 10
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ids []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		t.Errorf(format, args...)
	}
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-run%d", pfx, i)
			r := s.skiff(nil, "run", "-d", "--name", name, fx.busybox, "sleep", "300")
			id := strings.TrimSpace(r.stdout)
			if r.code != 0 || !fullID.MatchString(id) {
				fail("run -d %s: %v", name, r)
				s.skiff(nil, "rm", "-f", name)
				return
			}
			mu.Lock()
			ids = append(ids, id)
			mu.Unlock()
		}()
	}
	for i := range churn {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-churn%d", pfx, i)
			steps := [][]string{
				{"create", "--name", name, fx.busybox, "true"},
				{"inspect", "-f", "{{.State.Status}}", name},
				{"ps", "-a"},
				{"rm", name},
			}
			for _, args := range steps {
				if r := s.skiff(nil, args...); r.code != 0 {
					fail("%s: %v", strings.Join(args, " "), r)
					s.skiff(nil, "rm", "-f", name)
					return
				}
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		if len(ids) > 0 {
			s.skiff(nil, append([]string{"rm", "-f"}, ids...)...)
		}
	})
	s.stateFilesParse(t)
	r := s.must(t, "ps", "--no-trunc", "-q", "--filter", "name="+pfx)
	got := strings.Fields(r.stdout)
	if len(got) != len(ids) || len(ids) != runs {
		t.Errorf("ps lists %d running, %d run -d succeeded, want %d", len(got), len(ids), runs)
	}
	for _, id := range ids {
		if in := s.inspect(t, id); in.State.Status != "running" || !alive(in.State.Pid) {
			t.Errorf("%s: status %q pid %d alive %v", short(id), in.State.Status, in.State.Pid, alive(in.State.Pid))
		}
	}
	if n := len(strings.Fields(s.must(t, "ps", "-aq", "--filter", "name="+pfx+"-churn").stdout)); n != 0 {
		t.Errorf("%d churn containers left after rm", n)
	}
	if len(ids) > 0 {
		r := s.skiff(nil, append([]string{"rm", "-f"}, ids...)...)
		if r.code != 0 || strings.Count(r.stdout, "\n") != len(ids) {
			t.Errorf("rm -f of all: %v", r)
		}
	}
}

// startCLI starts a skiff command without waiting for it.
func (s *store) startCLI(t *testing.T, env []string, args ...string) (*exec.Cmd, chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := s.cmd(ctx, args...)
	cmd.Env = append(cmd.Env, env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return cmd, done
}

// fastly runs a command that must neither fail nor wait on a stale lock.
func (s *store) fastly(t *testing.T, args ...string) result {
	t.Helper()
	var r result
	if d := timed(func() { r = s.skiff(nil, args...) }); d > 10*time.Second {
		t.Errorf("%s took %s: a stale lock?", strings.Join(args, " "), d)
	}
	if r.code != 0 {
		t.Errorf("%s: %v", strings.Join(args, " "), r)
	}
	return r
}

// TestKillCLI: kill -9 of the CLI during create, during start and while
// attached. The container is never half-made in a way that blocks the
// next command; a started one keeps running and can be stopped,
// inspected and removed; nothing of ours is left afterwards.
func TestKillCLI(t *testing.T) {
	requireEnv(t)

	t.Run("during create", func(t *testing.T) {
		s := faultStore(t)
		for _, delay := range []time.Duration{0, 2, 5, 10, 20, 40} {
			name := fmt.Sprintf("e2e-killcreate-%d", delay)
			cmd, done := s.startCLI(t, nil, "create", "--name", name, fx.busybox, "true")
			time.Sleep(delay * time.Millisecond)
			kill9(cmd.Process.Pid)
			<-done
			s.fastly(t, "ps", "-a")
			s.skiff(nil, "rm", "-f", name) // made or not: either is fine
			s.fastly(t, "create", "--name", name, fx.busybox, "true")
			s.fastly(t, "rm", name)
		}
		s.stateFilesParse(t)
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
	t.Run("during start", func(t *testing.T) {
		s := faultStore(t)
		for _, delay := range []time.Duration{0, 5, 15, 30, 60} {
			id := s.create(t, fx.busybox, "sleep", "300")
			cmd, done := s.startCLI(t, nil, "start", id)
			time.Sleep(delay * time.Millisecond)
			kill9(cmd.Process.Pid)
			<-done
			in := s.inspect(t, id)
			t.Logf("kill -9 of start after %dms: status %q", delay, in.State.Status)
			switch in.State.Status {
			case "running":
				if !alive(in.State.Pid) {
					t.Errorf("delay %s: status running, pid %d dead", delay, in.State.Pid)
				}
				s.fastly(t, "stop", "-t", "1", id)
				if st := s.status(id); st != "exited" {
					t.Errorf("delay %s: status %q after stop", delay, st)
				}
			case "created", "exited":
			default:
				t.Errorf("delay %s: status %q after kill -9 of start", delay, in.State.Status)
			}
			if d := timed(func() { s.fastly(t, "rm", "-f", id) }); d > 10*time.Second {
				t.Logf("  (rm -f after kill -9 of start at %dms)", delay)
			}
		}
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
	t.Run("while attached", func(t *testing.T) {
		s := faultStore(t)
		name := "e2e-killattached"
		cmd, done := s.startCLI(t, nil, "run", "--name", name, fx.busybox, "sh", "-c", "echo up; sleep 300")
		s.cleanup(t, name)
		waitLogs(t, s, name, "up")
		kill9(cmd.Process.Pid)
		<-done
		time.Sleep(300 * time.Millisecond)
		in := s.inspect(t, name)
		if in.State.Status != "running" || !alive(in.State.Pid) {
			t.Fatalf("after kill -9 of the attached CLI: status %q pid %d alive %v; want it still running (as podman)", in.State.Status, in.State.Pid, alive(in.State.Pid))
		}
		s.fastly(t, "exec", name, "true")
		s.fastly(t, "stop", "-t", "1", name)
		if in := s.inspect(t, name); in.State.Status != "exited" || in.State.ExitCode != 137 {
			t.Errorf("after stop: %q exit %d, want exited 137", in.State.Status, in.State.ExitCode)
		}
		s.fastly(t, "rm", name)
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
}

// TestKillMonitor: kill -9 of a container's monitor. The container shows its
// true state: running while its process lives, exited with ExitCode -1 once
// it is gone; stop, inspect and rm work; --rm is applied by the next command
// that notices.
func TestKillMonitor(t *testing.T) {
	requireEnv(t)

	t.Run("container keeps running, then stop", func(t *testing.T) {
		s := faultStore(t)
		id := s.runD(t, fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		mon := monitorOf(t, pid)
		kill9(mon)
		if !waitGone(mon, 5*time.Second) {
			t.Fatalf("monitor %d survived SIGKILL", mon)
		}
		in := s.inspect(t, id)
		if in.State.Status != "running" || in.State.Pid != pid || !alive(pid) {
			t.Errorf("monitor dead, process alive: status %q pid %d, want running %d", in.State.Status, in.State.Pid, pid)
		}
		if l := lineWith(s.fastly(t, "ps", "--no-trunc").stdout, strings.TrimSpace(s.must(t, "inspect", "-f", "{{.Name}}", id).stdout)[1:]); !strings.Contains(l, "Up ") {
			t.Errorf("ps line %q, want Up", l)
		}
		s.fastly(t, "exec", id, "true")
		s.fastly(t, "stop", "-t", "1", id)
		if !waitGone(pid, 5*time.Second) {
			t.Errorf("stop without a monitor left the process %d alive", pid)
		}
		in = s.inspect(t, id)
		if in.State.Status != "exited" || in.State.Running {
			t.Errorf("after stop: %+v", in.State)
		}
		if c := in.State.ExitCode; c != -1 && c != 137 {
			t.Errorf("exit code %d after stop with no monitor: want -1 (unknown) or 137", c)
		}
		s.fastly(t, "rm", id)
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
	t.Run("container dies later: exited -1", func(t *testing.T) {
		s := faultStore(t)
		id := s.runD(t, fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		kill9(monitorOf(t, pid))
		time.Sleep(200 * time.Millisecond)
		kill9(pid)
		if !waitGone(pid, 5*time.Second) {
			t.Fatalf("container process %d survived SIGKILL (a zombie nobody reaps?)", pid)
		}
		in := s.inspect(t, id)
		if in.State.Status != "exited" || in.State.ExitCode != -1 || in.State.Pid != 0 {
			t.Errorf("status %q exit %d pid %d; want exited, -1 (unknown), 0", in.State.Status, in.State.ExitCode, in.State.Pid)
		}
		if l := s.must(t, "ps", "-a", "--filter", "id="+id, "--format", "{{.Status}}").stdout; !strings.HasPrefix(l, "Exited (-1)") {
			t.Errorf("ps status %q, want Exited (-1) ...", l)
		}
		if r := s.must(t, "wait", id); r.stdout != "-1\n" {
			t.Errorf("wait %q, want -1", r.stdout)
		}
		s.fastly(t, "rm", id)
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
	t.Run("--rm applied by the next command", func(t *testing.T) {
		s := faultStore(t)
		id := s.runD(t, "--rm", fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		kill9(monitorOf(t, pid))
		time.Sleep(200 * time.Millisecond)
		kill9(pid)
		waitGone(pid, 5*time.Second)
		s.fastly(t, "ps", "-a")
		if r := s.skiff(nil, "inspect", id); r.code == 0 {
			t.Errorf("--rm container still there after ps noticed it died: %s", s.status(id))
		}
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
	t.Run("while writing the exit record", func(t *testing.T) {
		s := faultStore(t)
		r := s.skiffEnv(nil, []string{"SKIFF_TEST_PAUSE=before-exit-record"}, "run", "-d", fx.busybox, "sh", "-c", "sleep 0.5; exit 3")
		id := idOf(t, r, "run -d")
		s.cleanup(t, id)
		pid := s.inspect(t, id).State.Pid
		mon := monitorOf(t, pid)
		if !waitGone(pid, 10*time.Second) {
			t.Fatal("the container never exited")
		}
		if waitGone(mon, 2*time.Second) {
			t.Skip("the monitor does not honour SKIFF_TEST_PAUSE=before-exit-record (it should pause after reaping the container, before writing the exit record)")
		}
		kill9(mon)
		waitGone(mon, 5*time.Second)
		in := s.inspect(t, id)
		if in.State.Status != "exited" || in.State.ExitCode != -1 {
			t.Errorf("status %q exit %d after the monitor died before recording: want exited -1", in.State.Status, in.State.ExitCode)
		}
		s.fastly(t, "rm", id)
		s.assertNoContainers(t)
		s.assertQuiet(t)
	})
}

// faultStore is a private store with busybox, so what a fault leaves
// behind is counted against the subtest that caused it.
func faultStore(t *testing.T) *store {
	t.Helper()
	s := newStore(t)
	s.killLeftovers(t)
	s.must(t, "pull", fx.busybox)
	return s
}

// TestNoDaemonLeft: when no container runs, no skiff process is left.
func TestNoDaemonLeft(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.killLeftovers(t)
	s.must(t, "pull", fx.busybox)
	s.must(t, "run", "--rm", fx.busybox, "true")
	id := s.runD(t, fx.busybox, "true")
	s.must(t, "wait", id)
	id2 := s.runD(t, fx.busybox, "sleep", "300")
	if procs := s.storeProcs(); len(procs) == 0 {
		t.Errorf("a running container has no process holding the store: where is its monitor?")
	}
	s.must(t, "stop", "-t", "1", id2)
	s.assertQuiet(t)
	for pid, cmd := range skiffProcs() {
		if strings.Contains(cmd, s.root) || strings.Contains(cmd, s.runroot) {
			t.Errorf("skiff process %d left: %s", pid, cmd)
		}
	}
}
