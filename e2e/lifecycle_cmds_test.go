package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 3's commands against docker's documented behaviour: output, exit
// codes, flags. Each test uses the shared store and unique names, and
// removes only the containers it made.

// trapTerm exits 143 on SIGTERM (as a well-behaved service); sleep as PID 1
// ignores SIGTERM (the kernel drops default-action signals for a pid
// namespace's init), so `stop` must fall back to SIGKILL.
var trapTerm = []string{"sh", "-c", `trap "exit 143" TERM; echo ready; while :; do sleep 0.1; done`}

func TestRunDetached(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	start := time.Now()
	id := s.runD(t, "--name", name, fx.busybox, "sleep", "300")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run -d took %s", d)
	}
	in := s.inspect(t, id)
	if in.ID != id || in.Name != "/"+name {
		t.Errorf("inspect Id %q Name %q, want %q and %q", in.ID, in.Name, id, "/"+name)
	}
	if in.State.Status != "running" || !in.State.Running || !alive(in.State.Pid) {
		t.Errorf("right after run -d: status %q running %v pid %d (alive %v), want a live running container",
			in.State.Status, in.State.Running, in.State.Pid, alive(in.State.Pid))
	}
	if l := lineWith(s.must(t, "ps").stdout, name); !strings.Contains(l, "Up ") || !strings.HasPrefix(l, id[:12]) {
		t.Errorf("ps line %q: want the 12-hex id and \"Up ...\"", l)
	}
	if mon := monitorOf(t, in.State.Pid); mon == 1 || mon == 0 {
		t.Errorf("the container's init has parent %d: want its monitor", mon)
	}
	t.Run("-d with --rm removes it after exit", func(t *testing.T) {
		n := uniqueName(t)
		id := s.runD(t, "--rm", "--name", n, fx.busybox, "true")
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && s.skiff(nil, "inspect", id).code == 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if r := s.skiff(nil, "inspect", id); r.code == 0 {
			t.Errorf("--rm container still exists 10 s after it exited: %s", s.status(id))
		}
	})
	t.Run("-d of a failing command is 127 and no container runs", func(t *testing.T) {
		n := uniqueName(t)
		r := s.skiff(nil, "run", "-d", "--name", n, fx.busybox, "nosuchcmd")
		s.cleanup(t, n)
		if r.code != 127 {
			t.Errorf("exit %d, want 127 (docker run -d of a missing command); %v", r.code, r)
		}
	})
}

func TestCreateStart(t *testing.T) {
	s := shared(t)
	t.Run("create then start", func(t *testing.T) {
		name := uniqueName(t)
		id := s.create(t, "--name", name, fx.busybox, "sh", "-c", "echo started; exit 5")
		in := s.inspect(t, id)
		if in.State.Status != "created" || in.State.Pid != 0 || in.State.Running {
			t.Errorf("after create: status %q pid %d, want created and 0", in.State.Status, in.State.Pid)
		}
		if l := lineWith(s.must(t, "ps", "-a").stdout, name); !strings.Contains(l, "Created") {
			t.Errorf("ps -a line %q lacks docker's \"Created\" status", l)
		}
		if l := lineWith(s.must(t, "ps").stdout, name); l != "" {
			t.Errorf("plain ps lists a created container: %q", l)
		}
		r := s.must(t, "start", name)
		if r.stdout != name+"\n" {
			t.Errorf("start printed %q, want the name as given (docker)", r.stdout)
		}
		if r := s.must(t, "wait", name); r.stdout != "5\n" {
			t.Errorf("wait printed %q, want 5", r.stdout)
		}
		if r := s.must(t, "logs", name); r.stdout != "started\n" {
			t.Errorf("logs %q, want \"started\\n\"", r.stdout)
		}
	})
	t.Run("start -a attaches and exits with the container's code", func(t *testing.T) {
		id := s.create(t, fx.busybox, "sh", "-c", "echo out; echo err >&2; exit 3")
		r := s.skiff(nil, "start", "-a", id)
		if r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
			t.Errorf("want exit 3, stdout out, stderr err; %v", r)
		}
	})
	t.Run("start -ai feeds stdin", func(t *testing.T) {
		id := s.create(t, "-i", fx.busybox, "sh", "-c", "read l; echo got:$l")
		r := s.skiff(strings.NewReader("hello\n"), "start", "-ai", id)
		if r.code != 0 || r.stdout != "got:hello\n" {
			t.Errorf("want got:hello; %v", r)
		}
	})
	t.Run("start of a running container is a no-op", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		if r := s.skiff(nil, "start", id); r.code != 0 {
			t.Errorf("start of a running container: exit %d, want 0 (docker); %v", r.code, r)
		}
		if in := s.inspect(t, id); in.State.Pid != pid || in.State.Status != "running" {
			t.Errorf("start of a running one changed it: pid %d -> %d, status %q", pid, in.State.Pid, in.State.Status)
		}
	})
	t.Run("start of an exited container runs it again", func(t *testing.T) {
		id := s.create(t, fx.busybox, "sh", "-c", "echo run")
		s.must(t, "start", "-a", id)
		s.must(t, "start", "-a", id)
		if r := s.must(t, "logs", id); r.stdout != "run\nrun\n" {
			t.Errorf("logs after two starts %q, want both runs", r.stdout)
		}
	})
}

func TestStop(t *testing.T) {
	s := shared(t)
	trap := s.runD(t, append([]string{fx.busybox}, trapTerm...)...)
	ignore := s.runD(t, fx.busybox, "sleep", "300")
	waitLogs(t, s, trap, "ready")
	var r1, r2 result
	d1 := timed(func() { r1 = s.skiff(nil, "stop", "-t", "3", trap) })
	d2 := timed(func() { r2 = s.skiff(nil, "stop", "--time", "2", ignore) })
	if r1.code != 0 || r1.stdout != trap+"\n" {
		t.Errorf("stop printed %q exit %d, want the id as given; %v", r1.stdout, r1.code, r1)
	}
	if r2.code != 0 {
		t.Errorf("stop: %v", r2)
	}
	if d1 > 2500*time.Millisecond {
		t.Errorf("a container exiting on SIGTERM took %s to stop: SIGTERM not sent first?", d1)
	}
	if d2 < 1800*time.Millisecond || d2 > 8*time.Second {
		t.Errorf("a container ignoring SIGTERM stopped in %s with -t 2: want SIGKILL after ~2 s", d2)
	}
	for _, c := range []struct {
		id   string
		code int
	}{{trap, 143}, {ignore, 137}} {
		in := s.inspect(t, c.id)
		if in.State.Status != "exited" || in.State.ExitCode != c.code || in.State.Running {
			t.Errorf("after stop: status %q exit %d, want exited %d", in.State.Status, in.State.ExitCode, c.code)
		}
		if r := s.must(t, "wait", c.id); r.stdout != fmt.Sprintf("%d\n", c.code) {
			t.Errorf("wait printed %q, want %d", r.stdout, c.code)
		}
		if in.State.FinishedAt == "" || strings.HasPrefix(in.State.FinishedAt, "0001-") {
			t.Errorf("FinishedAt %q after stop", in.State.FinishedAt)
		}
	}
	t.Run("stop of a stopped container exits 0", func(t *testing.T) {
		if r := s.skiff(nil, "stop", ignore); r.code != 0 {
			t.Errorf("exit %d, want 0 (docker); %v", r.code, r)
		}
	})
	t.Run("image STOPSIGNAL is honoured", func(t *testing.T) {
		id := s.runD(t, fx.stopsig, "sh", "-c", `trap "echo got-usr1; exit 10" USR1; trap "exit 143" TERM; echo ready; while :; do sleep 0.1; done`)
		if in := s.inspect(t, id); in.Config.StopSignal != "SIGUSR1" {
			t.Errorf("inspect Config.StopSignal %q, want SIGUSR1 from the image", in.Config.StopSignal)
		}
		waitLogs(t, s, id, "ready")
		s.must(t, "stop", "-t", "5", id)
		if in := s.inspect(t, id); in.State.ExitCode != 10 {
			t.Errorf("exit code %d after stop, want 10 (the USR1 trap ran)", in.State.ExitCode)
		}
		if r := s.must(t, "logs", id); !strings.Contains(r.stdout, "got-usr1") {
			t.Errorf("logs %q lack got-usr1: the image's StopSignal was not sent", r.stdout)
		}
	})
	t.Run("--stop-signal and --stop-timeout", func(t *testing.T) {
		r := s.skiff(nil, "run", "-d", "--stop-signal", "USR1", "--stop-timeout", "1", fx.busybox, "sleep", "300")
		if r.code != 0 {
			t.Skipf("run --stop-signal/--stop-timeout not supported: %v", r)
		}
		id := idOf(t, r, "run -d --stop-signal")
		s.cleanup(t, id)
		d := timed(func() { s.must(t, "stop", id) })
		if d > 5*time.Second {
			t.Errorf("stop took %s with --stop-timeout 1", d)
		}
	})
}

func TestRestartCommand(t *testing.T) {
	s := shared(t)
	id := s.runD(t, append([]string{fx.busybox}, trapTerm...)...)
	waitLogs(t, s, id, "ready")
	before := s.inspect(t, id)
	time.Sleep(1100 * time.Millisecond) // StartedAt has second resolution in some formats
	if r := s.must(t, "restart", "-t", "2", id); r.stdout != id+"\n" {
		t.Errorf("restart printed %q, want the id", r.stdout)
	}
	after := s.inspect(t, id)
	if after.State.Status != "running" || after.State.Pid == before.State.Pid || !alive(after.State.Pid) {
		t.Errorf("after restart: status %q pid %d (was %d)", after.State.Status, after.State.Pid, before.State.Pid)
	}
	if after.State.StartedAt == before.State.StartedAt {
		t.Errorf("StartedAt unchanged by restart: %s", after.State.StartedAt)
	}
	if alive(before.State.Pid) {
		t.Errorf("the old process %d outlived restart", before.State.Pid)
	}
	t.Run("restart of an exited container starts it", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sh", "-c", "echo x; sleep 300")
		s.must(t, "kill", id)
		s.must(t, "wait", id)
		s.must(t, "restart", id)
		if st := s.status(id); st != "running" {
			t.Errorf("status %q after restart of an exited container", st)
		}
	})
}

func TestKill(t *testing.T) {
	s := shared(t)
	t.Run("default SIGKILL", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sleep", "300")
		if r := s.must(t, "kill", id); r.stdout != id+"\n" {
			t.Errorf("kill printed %q, want the id", r.stdout)
		}
		if r := s.must(t, "wait", id); r.stdout != "137\n" {
			t.Errorf("wait %q after kill, want 137", r.stdout)
		}
	})
	for _, sig := range []string{"USR1", "SIGUSR1", "10"} {
		t.Run("-s "+sig, func(t *testing.T) {
			id := s.runD(t, fx.busybox, "sh", "-c", `trap "echo usr1; exit 12" USR1; echo ready; while :; do sleep 0.1; done`)
			waitLogs(t, s, id, "ready")
			s.must(t, "kill", "-s", sig, id)
			if r := s.must(t, "wait", id); r.stdout != "12\n" {
				t.Errorf("wait %q, want 12 (the trap ran)", r.stdout)
			}
		})
	}
	t.Run("--signal TERM to a trapping container", func(t *testing.T) {
		id := s.runD(t, append([]string{fx.busybox}, trapTerm...)...)
		waitLogs(t, s, id, "ready")
		s.must(t, "kill", "--signal", "TERM", id)
		if r := s.must(t, "wait", id); r.stdout != "143\n" {
			t.Errorf("wait %q, want 143", r.stdout)
		}
	})
	t.Run("kill of a stopped container fails", func(t *testing.T) {
		id := s.create(t, fx.busybox, "true")
		r := s.skiff(nil, "kill", id)
		if r.code != 1 || !strings.Contains(r.stderr, "not running") {
			t.Errorf("want exit 1 and \"... is not running\" (docker); %v", r)
		}
	})
	t.Run("bad signal", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sleep", "300")
		oneLineError(t, s.skiff(nil, "kill", "-s", "NOSUCHSIG", id), 1)
		if st := s.status(id); st != "running" {
			t.Errorf("a bad signal changed the container: %q", st)
		}
	})
}

func TestRm(t *testing.T) {
	s := shared(t)
	t.Run("exited", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "true")
		s.must(t, "wait", id)
		if r := s.must(t, "rm", id); r.stdout != id+"\n" {
			t.Errorf("rm printed %q, want the id as given", r.stdout)
		}
		if r := s.skiff(nil, "inspect", id); r.code != 1 {
			t.Errorf("inspect after rm: %v", r)
		}
	})
	t.Run("-f running", func(t *testing.T) {
		name := uniqueName(t)
		id := s.runD(t, "--name", name, fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		var r result
		d := timed(func() { r = s.skiff(nil, "rm", "-f", name) })
		if r.code != 0 || r.stdout != name+"\n" {
			t.Errorf("rm -f: %v", r)
		}
		if d > 5*time.Second {
			t.Errorf("rm -f took %s: it should SIGKILL, not stop with a timeout", d)
		}
		if !waitGone(pid, 5*time.Second) {
			t.Errorf("process %d lives on after rm -f", pid)
		}
		if lineWith(s.must(t, "ps", "-a").stdout, name) != "" {
			t.Errorf("still listed after rm -f")
		}
		s.create(t, "--name", name, fx.busybox, "true") // the name is free again
	})
	t.Run("-v and several at once", func(t *testing.T) {
		a := s.create(t, fx.busybox, "true")
		b := s.create(t, fx.busybox, "true")
		r := s.must(t, "rm", "-v", a, b)
		if r.stdout != a+"\n"+b+"\n" {
			t.Errorf("rm -v a b printed %q", r.stdout)
		}
	})
	t.Run("running without -f", func(t *testing.T) {
		name := uniqueName(t)
		id := s.runD(t, "--name", name, fx.busybox, "sleep", "300")
		r := s.skiff(nil, "rm", name)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, "running") {
			t.Errorf("want an error naming %s and saying it is running (docker: stop it or use -f): %q", name, r.stderr)
		}
		if st := s.status(id); st != "running" {
			t.Errorf("rm without -f changed the container: %q", st)
		}
	})
	t.Run("one bad of several: the rest are removed, exit 1", func(t *testing.T) {
		a := s.create(t, fx.busybox, "true")
		r := s.skiff(nil, "rm", "nosuch-e2e-rm", a)
		if r.code != 1 || !strings.Contains(r.stderr, "nosuch-e2e-rm") {
			t.Errorf("want exit 1 naming nosuch-e2e-rm; %v", r)
		}
		if s.skiff(nil, "inspect", a).code == 0 {
			t.Errorf("rm stopped at the first bad name: %s still exists", short(a))
		}
	})
}

func TestWait(t *testing.T) {
	s := shared(t)
	a := s.runD(t, fx.busybox, "sh", "-c", "sleep 0.5; exit 2")
	b := s.runD(t, fx.busybox, "sh", "-c", "exit 0")
	var r result
	d := timed(func() { r = s.must(t, "wait", a, b) })
	if r.stdout != "2\n0\n" {
		t.Errorf("wait a b printed %q, want \"2\\n0\\n\"", r.stdout)
	}
	if d < 300*time.Millisecond {
		t.Errorf("wait returned in %s, before the container exited", d)
	}
	if r := s.must(t, "container", "wait", a); r.stdout != "2\n" {
		t.Errorf("wait of an exited container printed %q", r.stdout)
	}
	r = s.skiff(nil, "wait", "nosuch-e2e-wait")
	if r.code != 1 || !strings.Contains(r.stderr, "nosuch-e2e-wait") {
		t.Errorf("wait of an unknown container: want exit 1 naming it; %v", r)
	}
}

func TestPs(t *testing.T) {
	s := shared(t)
	pfx := uniqueName(t)
	created := s.create(t, "--name", pfx+"-c", "--label", "e2e.ps="+pfx, fx.busybox, "true")
	exited := s.runD(t, "--name", pfx+"-x", fx.busybox, "sh", "-c", "exit 3")
	s.must(t, "wait", exited)
	running := s.runD(t, "--name", pfx+"-r", fx.stopsig, "sleep", "300")
	names := func(args ...string) []string {
		t.Helper()
		r := s.must(t, append(append([]string{"ps"}, args...), "--filter", "name="+pfx, "--format", "{{.Names}}")...)
		f := strings.Fields(r.stdout)
		return f
	}
	eq := func(got []string, want ...string) bool {
		return strings.Join(got, " ") == strings.Join(want, " ")
	}
	for _, c := range []struct {
		name string
		args []string
		want []string // newest first, as docker
	}{
		{"running only by default", nil, []string{pfx + "-r"}},
		{"-a newest first", []string{"-a"}, []string{pfx + "-r", pfx + "-x", pfx + "-c"}},
		{"status=exited", []string{"-a", "--filter", "status=exited"}, []string{pfx + "-x"}},
		{"status=created", []string{"-a", "--filter", "status=created"}, []string{pfx + "-c"}},
		{"status=running", []string{"-a", "--filter", "status=running"}, []string{pfx + "-r"}},
		{"exited=3", []string{"-a", "--filter", "exited=3"}, []string{pfx + "-x"}},
		{"exited=0", []string{"-a", "--filter", "exited=0"}, nil},
		{"id= prefix", []string{"-a", "--filter", "id=" + exited[:10]}, []string{pfx + "-x"}},
		{"ancestor=", []string{"-a", "--filter", "ancestor=" + fx.stopsig}, []string{pfx + "-r"}},
		{"label=key=value", []string{"-a", "--filter", "label=e2e.ps=" + pfx}, []string{pfx + "-c"}},
		{"label=key", []string{"-a", "--filter", "label=e2e.ps"}, []string{pfx + "-c"}},
		{"label from the image", []string{"-a", "--filter", "label=e2e.fixture=stopsig"}, []string{pfx + "-r"}},
		{"two filters of one key OR", []string{"-a", "--filter", "status=exited", "--filter", "status=created"}, []string{pfx + "-x", pfx + "-c"}},
		{"-n 2", []string{"-n", "2"}, []string{pfx + "-r", pfx + "-x"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := names(c.args...); !eq(got, c.want...) {
				t.Errorf("ps %s: got %q, want %q", strings.Join(c.args, " "), got, c.want)
			}
		})
	}
	t.Run("-l is the latest created", func(t *testing.T) {
		r := s.must(t, "ps", "-l", "--format", "{{.Names}}")
		if strings.TrimSpace(r.stdout) != pfx+"-r" {
			t.Errorf("ps -l %q, want %s-r", r.stdout, pfx)
		}
	})
	t.Run("columns and STATUS strings", func(t *testing.T) {
		out := s.must(t, "ps", "-a", "--filter", "name="+pfx).stdout
		for _, c := range []struct{ name, re string }{
			{pfx + "-r", `^[0-9a-f]{12}\s+\S+\s+"sleep 300"\s+.+ ago\s+Up (Less than a second|\d+ seconds?)\s+` + pfx + `-r$`},
			{pfx + "-x", `\s+Exited \(3\) (Less than a second|\d+ seconds?) ago\s+`},
			{pfx + "-c", `\s+Created\s+`},
		} {
			if l := lineWith(out, c.name); !regexp.MustCompile(c.re).MatchString(l) {
				t.Errorf("ps -a line %q does not match %s", l, c.re)
			}
		}
	})
	t.Run("-q and --no-trunc", func(t *testing.T) {
		r := s.must(t, "ps", "-aq", "--filter", "name="+pfx)
		if got := strings.Fields(r.stdout); !eq(got, running[:12], exited[:12], created[:12]) {
			t.Errorf("ps -aq %q, want the three 12-hex ids newest first", got)
		}
		r = s.must(t, "ps", "-aq", "--no-trunc", "--filter", "name="+pfx)
		if got := strings.Fields(r.stdout); !eq(got, running, exited, created) {
			t.Errorf("ps -aq --no-trunc %q, want the three full ids", got)
		}
	})
	t.Run("-s adds SIZE", func(t *testing.T) {
		out := s.must(t, "ps", "-s", "--filter", "name="+pfx).stdout
		header := strings.SplitN(out, "\n", 2)[0]
		if !regexp.MustCompile(`NAMES\s+SIZE\s*$`).MatchString(header) {
			t.Errorf("ps -s header %q, want SIZE after NAMES", header)
		}
		if l := strings.SplitN(out, "\n", 3)[1]; !regexp.MustCompile(`\d+(\.\d+)?[kMG]?B \(virtual \d+(\.\d+)?[kMG]?B\)\s*$`).MatchString(l) {
			t.Errorf("ps -s line %q lacks docker's \"0B (virtual 1.2MB)\"", l)
		}
	})
	t.Run("--format templates", func(t *testing.T) {
		for _, c := range []struct{ format, want string }{
			{"{{.ID}}", running[:12] + "\n"},
			{"{{.ID}}|{{.Image}}|{{.Status}}", ""},
			{"{{.Names}} {{.Command}}", pfx + "-r \"sleep 300\"\n"},
			{"{{.Label \"e2e.fixture\"}}", "stopsig\n"},
			{"{{json .Names}}", `"` + pfx + "-r\"\n"},
		} {
			r := s.must(t, "ps", "--filter", "name="+pfx+"-r", "--format", c.format)
			if c.want == "" {
				if !regexp.MustCompile(`^` + running[:12] + `\|.+\|Up .+\n$`).MatchString(r.stdout) {
					t.Errorf("--format %q printed %q", c.format, r.stdout)
				}
				continue
			}
			if r.stdout != c.want {
				t.Errorf("--format %q printed %q, want %q", c.format, r.stdout, c.want)
			}
		}
		r := s.must(t, "ps", "--filter", "name="+pfx+"-r", "--format", "table {{.ID}}\t{{.Names}}")
		if !regexp.MustCompile(`^CONTAINER ID\s+NAMES\n` + running[:12] + `\s+` + pfx + `-r\n$`).MatchString(r.stdout) {
			t.Errorf("--format table printed %q", r.stdout)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		oneLineError(t, s.skiff(nil, "ps", "--filter", "nosuchkey=1"), 1)
	})
}

func TestLogs(t *testing.T) {
	s := shared(t)
	id := s.runD(t, fx.busybox, "sh", "-c", "echo one; echo two >&2; echo three; sleep 1.2; echo four")
	s.must(t, "wait", id)
	t.Run("streams kept apart, survive the container", func(t *testing.T) {
		r := s.must(t, "logs", id)
		if r.stdout != "one\nthree\nfour\n" || r.stderr != "two\n" {
			t.Errorf("want stdout one three four and stderr two; %v", r)
		}
	})
	t.Run("--tail", func(t *testing.T) {
		r := s.must(t, "logs", "--tail", "1", id)
		if r.stdout != "four\n" || r.stderr != "" {
			t.Errorf("--tail 1: %v", r)
		}
		if r := s.must(t, "logs", "--tail", "all", id); r.stdout != "one\nthree\nfour\n" {
			t.Errorf("--tail all: %v", r)
		}
		if r := s.must(t, "logs", "-n", "0", id); r.stdout != "" || r.stderr != "" {
			t.Errorf("-n 0: %v", r)
		}
	})
	var stamps []time.Time
	t.Run("-t", func(t *testing.T) {
		r := s.must(t, "logs", "-t", id)
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			ts, rest, _ := strings.Cut(l, " ")
			tm, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				t.Errorf("-t line %q: no RFC3339Nano timestamp: %v", l, err)
				continue
			}
			stamps = append(stamps, tm)
			_ = rest
		}
		if len(stamps) != 3 {
			t.Fatalf("-t: %v", r)
		}
		if gap := stamps[2].Sub(stamps[1]); gap < time.Second {
			t.Errorf("timestamps of three and four %s apart, want >= 1.2 s (the sleep)", gap)
		}
	})
	t.Run("--since and --until", func(t *testing.T) {
		if len(stamps) != 3 {
			t.Skip("no timestamps from -t")
		}
		mid := stamps[1].Add(500 * time.Millisecond).Format(time.RFC3339Nano)
		if r := s.must(t, "logs", "--since", mid, id); r.stdout != "four\n" || r.stderr != "" {
			t.Errorf("--since %s: %v", mid, r)
		}
		if r := s.must(t, "logs", "--until", mid, id); r.stdout != "one\nthree\n" || r.stderr != "two\n" {
			t.Errorf("--until %s: %v", mid, r)
		}
		unix := fmt.Sprintf("%d.%09d", stamps[1].Add(500*time.Millisecond).Unix(), stamps[1].Add(500*time.Millisecond).Nanosecond())
		if r := s.must(t, "logs", "--since", unix, id); r.stdout != "four\n" {
			t.Errorf("--since %s (unix): %v", unix, r)
		}
		if r := s.must(t, "logs", "--since", "10m", id); r.stdout != "one\nthree\nfour\n" {
			t.Errorf("--since 10m (relative): %v", r)
		}
	})
	t.Run("-f follows live output and ends with the container", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sh", "-c", "echo a; sleep 1; echo b; sleep 1; echo c")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := s.cmd(ctx, "logs", "-f", id)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(out)
		start := time.Now()
		var got []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				break
			}
			got = append(got, strings.TrimSpace(l))
			if len(got) == 2 && s.status(id) != "running" {
				t.Errorf("second line arrived only after the container exited: not live")
			}
		}
		err := cmd.Wait()
		if strings.Join(got, " ") != "a b c" || err != nil {
			t.Errorf("logs -f read %q, err %v; want a b c and exit 0", got, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("logs -f returned %s after start: want it to end when the container exits", d)
		}
	})
	t.Run("-f --tail 0 sees only new lines", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sh", "-c", "echo old; sleep 1.5; echo new")
		waitLogs(t, s, id, "old")
		r := s.must(t, "logs", "-f", "--tail", "0", id)
		if r.stdout != "new\n" {
			t.Errorf("logs -f --tail 0: %v", r)
		}
	})
}

// waitLogs waits until the container's logs contain want.
func waitLogs(t *testing.T, s *store, id, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var r result
	for time.Now().Before(deadline) {
		if r = s.skiff(nil, "logs", id); strings.Contains(r.stdout, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("container %s never logged %q; %v", short(id), want, r)
}

func TestAttach(t *testing.T) {
	s := shared(t)
	t.Run("stdin and output, exit code", func(t *testing.T) {
		id := s.runD(t, "-i", fx.busybox, "sh", "-c", "echo ready; read l; echo got:$l; exit 7")
		waitLogs(t, s, id, "ready")
		r := s.skiff(strings.NewReader("hi\n"), "attach", id)
		if r.code != 7 || r.stdout != "got:hi\n" {
			t.Errorf("attach: want got:hi and exit 7; %v", r)
		}
		if r := s.must(t, "logs", id); r.stdout != "ready\ngot:hi\n" {
			t.Errorf("logs after attach %q", r.stdout)
		}
	})
	t.Run("attach of a stopped container fails", func(t *testing.T) {
		id := s.create(t, fx.busybox, "true")
		r := s.skiff(nil, "attach", id)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "not running") && !strings.Contains(r.stderr, "start") {
			t.Errorf("want docker's \"You cannot attach to a stopped container, start it first\"; %q", r.stderr)
		}
	})
	t.Run("two clients see the same output", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sh", "-c", "sleep 1; echo shared; sleep 0.5")
		var a, b result
		done := make(chan bool)
		go func() { a = s.skiff(nil, "attach", "--no-stdin", id); done <- true }()
		b = s.skiff(nil, "attach", "--no-stdin", id)
		<-done
		if a.stdout != "shared\n" || b.stdout != "shared\n" {
			t.Errorf("two attach clients: %v / %v", a, b)
		}
	})
}

func TestExec(t *testing.T) {
	s := shared(t)
	id := s.runD(t, fx.busybox, "sleep", "300")
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		want  string
		code  int
	}{
		{"echo", []string{"echo", "hi"}, "", "hi\n", 0},
		{"exit code", []string{"sh", "-c", "exit 5"}, "", "", 5},
		{"-e", []string{"-e", "A=1", "-e", "B=two", "sh", "-c", "echo $A$B"}, "", "1two\n", 0},
		{"--env", []string{"--env", "A=x", "sh", "-c", "echo $A"}, "", "x\n", 0},
		{"image env kept", []string{"sh", "-c", "echo $PATH"}, "", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", 0},
		{"-u", []string{"-u", "1000", "id", "-u"}, "", "1000\n", 0},
		{"--user name", []string{"--user", "app", "id"}, "", "uid=1000(app) gid=1000(app) groups=1000(app)\n", 0},
		{"-w", []string{"-w", "/tmp", "pwd"}, "", "/tmp\n", 0},
		{"--workdir", []string{"--workdir", "/etc", "pwd"}, "", "/etc\n", 0},
		{"-i", []string{"-i", "cat"}, "in\n", "in\n", 0},
		{"no -i: no stdin", []string{"cat"}, "not for you\n", "", 0},
		{"pid namespace: PID 1 is the container's", []string{"cat", "/proc/1/cmdline"}, "", "sleep\x00300\x00", 0},
		{"same cgroup", []string{"sh", "-c", `[ "$(cat /proc/1/cgroup)" = "$(cat /proc/self/cgroup)" ] && echo same`}, "", "same\n", 0},
		{"same hostname", []string{"hostname"}, "", id[:12] + "\n", 0},
		{"not found", []string{"nosuchcmd"}, "", "", 127},
		{"not executable", []string{"/etc"}, "", "", 126},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"exec"}
			cmdStart := 0
			for cmdStart < len(c.args) && strings.HasPrefix(c.args[cmdStart], "-") {
				cmdStart++
				if c.args[cmdStart-1] != "-i" {
					cmdStart++ // the flag's value
				}
			}
			args = append(append(append(args, c.args[:cmdStart]...), id), c.args[cmdStart:]...)
			r := s.skiff(strings.NewReader(c.stdin), args...)
			if r.code != c.code {
				t.Errorf("exec %s: exit %d, want %d; %v", strings.Join(c.args, " "), r.code, c.code, r)
			}
			if c.code == 0 && r.stdout != c.want {
				t.Errorf("exec %s: stdout %q, want %q", strings.Join(c.args, " "), r.stdout, c.want)
			}
		})
	}
	t.Run("-t gives a terminal", func(t *testing.T) {
		r := s.skiff(nil, "exec", "-t", id, "sh", "-c", "test -t 1 && echo tty")
		if r.code != 0 || r.stdout != "tty\r\n" {
			t.Errorf("exec -t: want \"tty\\r\\n\" (a pty turns \\n into \\r\\n); %v", r)
		}
	})
	t.Run("-it on a pty", func(t *testing.T) {
		out, code := runOnPty(t, s, "echo $((6*7))\nexit 4\n", "exec", "-it", id, "sh")
		if code != 4 || !strings.Contains(out, "42") {
			t.Errorf("exec -it: exit %d, output %q; want 42 and exit 4", code, out)
		}
	})
	t.Run("-d runs in the background", func(t *testing.T) {
		var r result
		// The command outlasts any exec's own start-up (seconds under the
		// e2e-v2 guest's emulation), so a wait for it cannot pass unseen.
		d := timed(func() { r = s.skiff(nil, "exec", "-d", id, "sh", "-c", "sleep 4; echo done > /tmp/bg") })
		if r.code != 0 || r.stdout != "" {
			t.Errorf("exec -d: %v", r)
		}
		if d > 3*time.Second {
			t.Errorf("exec -d waited %s for the command", d)
		}
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if r := s.skiff(nil, "exec", id, "cat", "/tmp/bg"); r.stdout == "done\n" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("exec -d's command never ran to completion")
	})
	t.Run("exec'd process does not outlive the CLI's view of the container", func(t *testing.T) {
		before := s.inspect(t, id).State.Pid
		s.must(t, "exec", id, "true")
		if after := s.inspect(t, id); after.State.Pid != before || after.State.Status != "running" {
			t.Errorf("exec changed the container: pid %d -> %d, %s", before, after.State.Pid, after.State.Status)
		}
	})
}

func TestTop(t *testing.T) {
	s := shared(t)
	id := s.runD(t, fx.busybox, "sh", "-c", "sleep 301 & sleep 302")
	time.Sleep(200 * time.Millisecond)
	r := s.must(t, "top", id)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if !regexp.MustCompile(`^UID\s+PID\s+PPID\s+C\s+STIME\s+TTY\s+TIME\s+CMD$`).MatchString(lines[0]) {
		t.Errorf("top header %q, want ps -ef's UID PID PPID C STIME TTY TIME CMD", lines[0])
	}
	// busybox sh execs the last command of -c: sleep 302 is the init.
	if !strings.Contains(r.stdout, "sleep 301") || !strings.Contains(r.stdout, "sleep 302") || len(lines) != 3 {
		t.Errorf("top: want both sleeps (host pids), no other process:\n%s", r.stdout)
	}
	pid := s.inspect(t, id).State.Pid
	if !regexp.MustCompile(`(?m)^\S+\s+` + strconv.Itoa(pid) + `\s`).MatchString(r.stdout) {
		t.Errorf("top does not show the init's host pid %d:\n%s", pid, r.stdout)
	}
	r = s.must(t, "top", id, "-o", "pid,comm")
	if h := strings.SplitN(r.stdout, "\n", 2)[0]; !regexp.MustCompile(`^\s*PID\s+COMMAND\s*$`).MatchString(h) {
		t.Errorf("top -o pid,comm header %q", h)
	}
	oneLineError(t, s.skiff(nil, "top", s.create(t, fx.busybox, "true")), 1)
}

func TestInspect(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	id := s.runD(t, "--name", name, "-e", "E2E=1", "--restart", "on-failure:3", fx.busybox, "sleep", "300")
	in := s.inspect(t, name)
	if in.ID != id || in.Name != "/"+name || !strings.HasPrefix(in.Image, "sha256:") {
		t.Errorf("Id %q Name %q Image %q", in.ID, in.Name, in.Image)
	}
	if in.Config.Image != fx.busybox || strings.Join(in.Config.Cmd, " ") != "sleep 300" || !contains(in.Config.Env, "E2E=1") {
		t.Errorf("Config: Image %q Cmd %q Env %q", in.Config.Image, in.Config.Cmd, in.Config.Env)
	}
	if in.HostConfig.RestartPolicy.Name != "on-failure" || in.HostConfig.RestartPolicy.MaximumRetryCount != 3 {
		t.Errorf("HostConfig.RestartPolicy %+v", in.HostConfig.RestartPolicy)
	}
	for _, ts := range []string{in.Created, in.State.StartedAt} {
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("timestamp %q is not RFC3339Nano: %v", ts, err)
		}
	}
	if in.State.FinishedAt != "0001-01-01T00:00:00Z" {
		t.Errorf("FinishedAt of a running container %q, want docker's zero time 0001-01-01T00:00:00Z", in.State.FinishedAt)
	}
	if in.Mounts == nil {
		t.Errorf("Mounts is null; docker prints []")
	}
	// Keys exactly as docker spells them, checked on the raw JSON.
	raw := s.must(t, "inspect", id).stdout
	var m []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil || len(m) != 1 {
		t.Fatalf("inspect JSON: %v", err)
	}
	for _, k := range []string{"Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "HostConfig", "Mounts", "Config", "LogPath"} {
		if _, ok := m[0][k]; !ok {
			t.Errorf("inspect lacks docker's key %q", k)
		}
	}
	for _, c := range []struct{ format, want string }{
		{"{{.State.Status}}", "running"},
		{"{{.Name}}", "/" + name},
		{"{{.Id}}", id},
		{"{{.State.Running}} {{.State.ExitCode}}", "true 0"},
		{"{{.RestartCount}}", "0"},
		{"{{.HostConfig.RestartPolicy.Name}}", "on-failure"},
		{"{{index .Config.Cmd 0}}", "sleep"},
		{"{{json .Config.Cmd}}", `["sleep","300"]`},
		{"{{.State.Pid}}", strconv.Itoa(in.State.Pid)},
	} {
		for _, flag := range []string{"-f", "--format"} {
			if r := s.must(t, "inspect", flag, c.format, id); r.stdout != c.want+"\n" {
				t.Errorf("inspect %s %q: %q, want %q", flag, c.format, r.stdout, c.want)
			}
		}
	}
	t.Run("several, and one unknown", func(t *testing.T) {
		other := s.create(t, fx.busybox, "true")
		r := s.must(t, "inspect", "-f", "{{.State.Status}}", id, other)
		if r.stdout != "running\ncreated\n" {
			t.Errorf("two containers: %q", r.stdout)
		}
		r = s.skiff(nil, "inspect", "-f", "{{.State.Status}}", id, "nosuch-e2e-inspect")
		if r.code != 1 || r.stdout != "running\n" || !strings.Contains(r.stderr, "nosuch-e2e-inspect") {
			t.Errorf("docker prints what it found, then errors naming the unknown one, exit 1; %v", r)
		}
	})
	t.Run("exited", func(t *testing.T) {
		id := s.runD(t, fx.busybox, "sh", "-c", "exit 9")
		s.must(t, "wait", id)
		in := s.inspect(t, id)
		if in.State.Status != "exited" || in.State.ExitCode != 9 || in.State.Pid != 0 || in.State.Running {
			t.Errorf("State %+v, want exited, 9, pid 0", in.State)
		}
		st, _ := time.Parse(time.RFC3339Nano, in.State.StartedAt)
		fi, err := time.Parse(time.RFC3339Nano, in.State.FinishedAt)
		if err != nil || fi.Before(st) {
			t.Errorf("FinishedAt %q before StartedAt %q", in.State.FinishedAt, in.State.StartedAt)
		}
		if l := lineWith(s.must(t, "ps", "-a", "--no-trunc", "--filter", "id="+id, "--format", "{{.Status}} {{.ID}}").stdout, id); !strings.HasPrefix(l, "Exited (9)") {
			t.Errorf("ps shows %q, want Exited (9)", l)
		}
	})
	t.Run("bad template", func(t *testing.T) {
		oneLineError(t, s.skiff(nil, "inspect", "-f", "{{.Nope", id), 1)
	})
}

// TestLongForms: `skiff container <verb>` is the same command as the short one.
func TestLongForms(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	id := idOf(t, s.skiff(nil, "container", "create", "--name", name, "-i", fx.busybox, "sh", "-c", "echo hi; read x; sleep 300"), "container create")
	s.cleanup(t, id)
	for _, args := range [][]string{
		{"container", "start", name},
		{"container", "ls"},
		{"container", "ps", "-a"},
		{"container", "list", "-q"},
		{"container", "inspect", name},
		{"container", "logs", name},
		{"container", "exec", name, "true"},
		{"container", "top", name},
		{"container", "kill", "-s", "CONT", name},
		{"container", "restart", "-t", "1", name},
		{"container", "stop", "-t", "1", name},
		{"container", "wait", name},
		{"container", "rm", name},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			s.must(t, args...)
		})
	}
	id2 := idOf(t, s.skiff(nil, "container", "run", "-d", fx.busybox, "sh", "-c", "read x; echo attached"), "container run -d")
	s.cleanup(t, id2)
	if r := s.must(t, "container", "wait", id2); r.stdout != "0\n" {
		t.Errorf("container wait after container run -d: %q", r.stdout)
	}
}
