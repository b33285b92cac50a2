package e2e

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRestartPolicy: the monitor keeps --restart while the container lives.
func TestRestartPolicy(t *testing.T) {
	s := shared(t)
	waitCount := func(t *testing.T, id string, want int, timeout time.Duration) inspectJSON {
		t.Helper()
		deadline := time.Now().Add(timeout)
		var in inspectJSON
		for time.Now().Before(deadline) {
			if in = s.inspect(t, id); in.RestartCount >= want {
				return in
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("RestartCount %d after %s, want %d (status %q)", in.RestartCount, timeout, want, in.State.Status)
		return in
	}
	t.Run("on-failure:2 restarts twice", func(t *testing.T) {
		id := s.runD(t, "--restart=on-failure:2", fx.busybox, "sh", "-c", "echo run; exit 1")
		waitCount(t, id, 2, 20*time.Second)
		s.waitStatus(t, id, "exited", 20*time.Second)
		time.Sleep(1500 * time.Millisecond) // a third restart would come by now
		in := s.inspect(t, id)
		if in.RestartCount != 2 || in.State.ExitCode != 1 || in.State.Status != "exited" {
			t.Errorf("RestartCount %d exit %d status %q, want 2, 1, exited", in.RestartCount, in.State.ExitCode, in.State.Status)
		}
		if r := s.must(t, "logs", id); r.stdout != "run\nrun\nrun\n" {
			t.Errorf("logs %q, want three runs in one log", r.stdout)
		}
		if r := s.must(t, "ps", "-a", "--filter", "id="+id, "--format", "{{.Status}}"); !strings.HasPrefix(r.stdout, "Exited (1)") {
			t.Errorf("ps status %q", r.stdout)
		}
	})
	t.Run("on-failure does not restart a success", func(t *testing.T) {
		id := s.runD(t, "--restart", "on-failure", fx.busybox, "true")
		s.waitStatus(t, id, "exited", 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		if in := s.inspect(t, id); in.RestartCount != 0 || in.State.Status != "exited" {
			t.Errorf("RestartCount %d status %q, want 0 exited", in.RestartCount, in.State.Status)
		}
	})
	t.Run("no", func(t *testing.T) {
		id := s.runD(t, "--restart=no", fx.busybox, "false")
		s.waitStatus(t, id, "exited", 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		if in := s.inspect(t, id); in.RestartCount != 0 {
			t.Errorf("RestartCount %d with --restart=no", in.RestartCount)
		}
	})
	for _, policy := range []string{"always", "unless-stopped"} {
		t.Run(policy+" restarts until stopped", func(t *testing.T) {
			id := s.runD(t, "--restart="+policy, fx.busybox, "sh", "-c", "sleep 0.2; exit 0")
			waitCount(t, id, 2, 20*time.Second)
			s.must(t, "stop", "-t", "1", id)
			s.waitStatus(t, id, "exited", 10*time.Second)
			n := s.inspect(t, id).RestartCount
			time.Sleep(2 * time.Second)
			if in := s.inspect(t, id); in.State.Status != "exited" || in.RestartCount != n {
				t.Errorf("after stop: status %q RestartCount %d -> %d; a stopped container must stay stopped", in.State.Status, n, in.RestartCount)
			}
		})
	}
	t.Run("--rm with --restart is refused", func(t *testing.T) {
		r := s.skiff(nil, "run", "-d", "--rm", "--restart=always", fx.busybox, "true")
		if r.code == 0 {
			s.skiff(nil, "rm", "-f", strings.TrimSpace(r.stdout))
		}
		runError(t, r, 125) // docker: "Conflicting options: --restart and --rm"
	})
}

// TestInit: --init runs skiff's init as PID 1, which reaps orphans and
// forwards signals; without it the user's process is PID 1, as docker.
func TestInit(t *testing.T) {
	s := shared(t)
	t.Run("PID 1", func(t *testing.T) {
		r := s.must(t, "run", "--rm", "--init", fx.busybox, "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
		f := strings.SplitN(r.stdout, "\n", 2)
		if f[0] == "1" || strings.HasPrefix(f[1], "sh") {
			t.Errorf("with --init the user's process is pid %s and PID 1 is %q; want the init as PID 1", f[0], f[1])
		}
		if r := s.must(t, "run", "--rm", fx.busybox, "sh", "-c", "echo $$"); r.stdout != "1\n" {
			t.Errorf("without --init the user's process is pid %q, want 1", r.stdout)
		}
	})
	// An orphan's zombie is reparented to PID 1; sleep as PID 1 never
	// reaps it, the init must.
	zombies := func(t *testing.T, init bool) []int {
		args := []string{fx.busybox, "sh", "-c", "(sleep 0.1 &); exec sleep 300"}
		if init {
			args = append([]string{"--init"}, args...)
		}
		id := s.runD(t, args...)
		pid := s.inspect(t, id).State.Pid
		time.Sleep(700 * time.Millisecond)
		// The init's children are the user's process and any orphans.
		var z []int
		for _, p := range allPids() {
			st, ok := readStat(p)
			if ok && st.state == 'Z' && (st.ppid == pid || isChildOf(st.ppid, pid)) {
				z = append(z, p)
			}
		}
		return z
	}
	t.Run("reaps zombies", func(t *testing.T) {
		if z := zombies(t, false); len(z) == 0 {
			t.Log("control: without --init no zombie was seen (the kernel or busybox reaped it); the --init check below proves less")
		}
		if z := zombies(t, true); len(z) != 0 {
			t.Errorf("with --init, zombies remain in the container: %v", z)
		}
	})
	t.Run("forwards SIGTERM", func(t *testing.T) {
		id := s.runD(t, "--init", fx.busybox, "sleep", "300")
		var d time.Duration
		d = timed(func() { s.must(t, "stop", "-t", "5", id) })
		if d > 3*time.Second {
			t.Errorf("stop took %s: the init did not forward SIGTERM to sleep", d)
		}
		if in := s.inspect(t, id); in.State.ExitCode != 143 {
			t.Errorf("exit code %d, want 143 (sleep killed by the forwarded SIGTERM)", in.State.ExitCode)
		}
	})
	t.Run("exit code passes through", func(t *testing.T) {
		if r := s.skiff(nil, "run", "--rm", "--init", fx.busybox, "sh", "-c", "exit 6"); r.code != 6 {
			t.Errorf("exit %d, want 6; %v", r.code, r)
		}
	})
}

func isChildOf(pid, parent int) bool {
	st, ok := readStat(pid)
	return ok && st.ppid == parent
}

// TestForegroundStoppedElsewhere: `skiff stop` from another shell ends a
// foreground `skiff run`, which exits with the container's code.
func TestForegroundStoppedElsewhere(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := s.cmd(ctx, "run", "--name", name, fx.busybox, "sh", "-c", `trap "exit 143" TERM; echo up; while :; do sleep 0.1; done`)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cleanup(t, name)
	if err := waitLine(out, "up", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if l := lineWith(s.must(t, "ps").stdout, name); !strings.Contains(l, "Up ") {
		t.Errorf("a foreground run is not in ps: %q", l)
	}
	if r := s.must(t, "exec", name, "echo", "from-exec"); r.stdout != "from-exec\n" {
		t.Errorf("exec into a foreground run: %v", r)
	}
	s.must(t, "stop", "-t", "5", name)
	go io.Copy(io.Discard, out)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Errorf("foreground run ended with %v, want exit 143", err)
	}
	if r := s.must(t, "logs", name); r.stdout != "up\n" {
		t.Errorf("logs of a foreground run %q", r.stdout)
	}
}

// TestDetachKeys: ctrl-p ctrl-q on a -it run's terminal detaches the CLI
// and leaves the container running; attach reaches it again.
func TestDetachKeys(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	master, slave := openPty(t)
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := s.cmd(ctx, "run", "-it", "--name", name, fx.busybox, "sh")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	s.cleanup(t, name)
	go io.Copy(io.Discard, master)
	time.Sleep(500 * time.Millisecond)
	master.WriteString("echo hi > /tmp/mark\n")
	time.Sleep(300 * time.Millisecond)
	master.WriteString("\x10\x11") // ctrl-p ctrl-q
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("detach: the CLI exited with %v, want 0", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("ctrl-p ctrl-q did not detach within 10 s")
	}
	if st := s.status(name); st != "running" {
		t.Fatalf("after detaching: status %q, want running", st)
	}
	if r := s.must(t, "exec", name, "cat", "/tmp/mark"); r.stdout != "hi\n" {
		t.Errorf("the shell did not run the typed command before detaching: %v", r)
	}
	t.Run("--detach-keys", func(t *testing.T) {
		out, code := runOnPty(t, s, "\x01", "run", "-it", "--detach-keys", "ctrl-a", "--name", name+"-dk", fx.busybox, "sh")
		s.cleanup(t, name+"-dk")
		if code != 0 || s.status(name+"-dk") != "running" {
			t.Errorf("--detach-keys ctrl-a: exit %d status %q; output %q", code, s.status(name+"-dk"), out)
		}
	})
	s.must(t, "stop", "-t", "1", name)
}
