package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 4's other container verbs (pause, unpause, rename, port, container
// prune), their long forms and bad input, against docker's behaviour.

// counter writes an increasing number to /c every 0.1 s.
var counter = []string{"sh", "-c", `i=0; while :; do i=$((i+1)); echo $i > /c; sleep 0.1; done`}

// readCounter reads /c through the host's view of the container's root
// (exec cannot enter a paused container).
func readCounter(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/c", pid))
	if err != nil {
		return -1
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// advances reports whether the counter moves within d.
func advances(t *testing.T, pid int, d time.Duration) bool {
	t.Helper()
	first := readCounter(t, pid)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		if n := readCounter(t, pid); n > first {
			return true
		}
	}
	return false
}

// freezerDir is a container's v1 freezer cgroup (this host's hierarchy).
func freezerDir(id string) string { return "/sys/fs/cgroup/freezer/skiff/" + id }

// sawFrozen runs f while watching the container's freezer state, and
// reports whether it was ever FROZEN.
func sawFrozen(t *testing.T, id string, f func()) bool {
	t.Helper()
	stop, seen := make(chan struct{}), make(chan bool)
	go func() {
		frozen := false
		for {
			select {
			case <-stop:
				seen <- frozen
				return
			default:
			}
			if b, _ := os.ReadFile(freezerDir(id) + "/freezer.state"); strings.TrimSpace(string(b)) == "FROZEN" {
				frozen = true
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	f()
	close(stop)
	return <-seen
}

func TestPause(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	s.runD(t, "--name", name, fx.busybox, counter[0], counter[1], counter[2])
	pid := s.inspect(t, name).State.Pid
	if !advances(t, pid, 5*time.Second) {
		t.Fatalf("the counter never ran")
	}
	if r := s.must(t, "pause", name); r.stdout != name+"\n" {
		t.Errorf("pause printed %q, want the name (docker's)", r.stdout)
	}
	if advances(t, pid, 600*time.Millisecond) {
		t.Errorf("the counter still advances after pause")
	}
	in := s.inspect(t, name)
	if !in.State.Paused || in.State.Status != "paused" || !in.State.Running {
		t.Errorf("inspect of a paused container: Paused %v Status %q Running %v, want true \"paused\" true (docker's)",
			in.State.Paused, in.State.Status, in.State.Running)
	}
	if l := lineWith(s.must(t, "ps").stdout, name); !strings.Contains(l, "Up ") || !strings.Contains(l, "(Paused)") {
		t.Errorf("ps line %q: want \"Up ... (Paused)\"", l)
	}
	if r := s.must(t, "ps", "-q", "--no-trunc", "--filter", "status=paused", "--filter", "name="+name); strings.TrimSpace(r.stdout) != in.ID {
		t.Errorf("ps --filter status=paused: %q, want %s", r.stdout, short(in.ID))
	}
	s.noMountsLeft(t)
	t.Run("exec into a paused one", func(t *testing.T) {
		r := s.skiff(nil, "exec", name, "true")
		if r.code == 0 {
			t.Fatalf("exec into a paused container succeeded (docker: \"Container ... is paused, unpause the container before exec\")")
		}
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "paused") {
			t.Errorf("the error does not say the container is paused: %q", r.stderr)
		}
	})
	t.Run("pause twice", func(t *testing.T) {
		r := s.skiff(nil, "pause", name)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "already paused") {
			t.Errorf("want docker's \"Container ... is already paused\"; %q", r.stderr)
		}
	})
	if r := s.must(t, "unpause", name); r.stdout != name+"\n" {
		t.Errorf("unpause printed %q, want the name", r.stdout)
	}
	if !advances(t, pid, 3*time.Second) {
		t.Errorf("the counter does not advance after unpause")
	}
	if in := s.inspect(t, name); in.State.Paused || in.State.Status != "running" {
		t.Errorf("after unpause: Paused %v Status %q", in.State.Paused, in.State.Status)
	}
	t.Run("unpause of a running one", func(t *testing.T) {
		r := s.skiff(nil, "unpause", name)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "is not paused") {
			t.Errorf("want docker's \"Container ... is not paused\"; %q", r.stderr)
		}
	})
	t.Run("pause of a stopped one", func(t *testing.T) {
		n := uniqueName(t)
		s.create(t, "--name", n, fx.busybox, "true")
		r := s.skiff(nil, "pause", n)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "is not running") {
			t.Errorf("want docker's \"container ... is not running\"; %q", r.stderr)
		}
	})
	t.Run("stop a paused one", func(t *testing.T) {
		n := uniqueName(t)
		s.runD(t, "--name", n, fx.busybox, counter[0], counter[1], counter[2])
		p := s.inspect(t, n).State.Pid
		s.must(t, "pause", n)
		var r result
		if d := timed(func() { r = s.skiff(nil, "stop", "-t", "1", n) }); d > 10*time.Second {
			t.Errorf("stop of a paused container took %s", d)
		}
		if r.code != 0 {
			t.Fatalf("stop of a paused container: %v", r)
		}
		if !waitGone(p, 5*time.Second) {
			t.Errorf("process %d alive after stop", p)
		}
		s.waitStatus(t, n, "exited", 5*time.Second)
		if in := s.inspect(t, n); in.State.Paused {
			t.Errorf("exited container still Paused")
		}
	})
	t.Run("rm without -f refuses a paused one, kill ends it", func(t *testing.T) {
		n := uniqueName(t)
		s.runD(t, "--name", n, fx.busybox, counter[0], counter[1], counter[2])
		p := s.inspect(t, n).State.Pid
		s.must(t, "pause", n)
		r := s.skiff(nil, "rm", n)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "paused") {
			t.Errorf("want docker's \"You cannot remove a paused container ...\"; %q", r.stderr)
		}
		if s.status(n) != "paused" {
			t.Errorf("after a refused rm: status %q", s.status(n))
		}
		s.must(t, "kill", n)
		if !waitGone(p, 5*time.Second) {
			t.Errorf("process %d alive after kill of a paused container", p)
		}
		s.waitStatus(t, n, "exited", 5*time.Second)
	})
	t.Run("rm -f a paused one", func(t *testing.T) {
		n := uniqueName(t)
		s.runD(t, "--name", n, fx.busybox, counter[0], counter[1], counter[2])
		p := s.inspect(t, n).State.Pid
		s.must(t, "pause", n)
		id := s.inspect(t, n).ID
		s.must(t, "rm", "-f", n)
		if !waitGone(p, 5*time.Second) {
			t.Errorf("process %d alive after rm -f", p)
		}
		if _, err := os.Stat(freezerDir(id)); err == nil {
			t.Errorf("the frozen cgroup %s is left after rm -f", freezerDir(id))
		}
		if r := s.skiff(nil, "inspect", n); r.code == 0 {
			t.Errorf("container exists after rm -f")
		}
	})
}

func TestRename(t *testing.T) {
	s := shared(t)
	old, nu := uniqueName(t), uniqueName(t)
	id := s.runD(t, "--name", old, fx.busybox, "sh", "-c", "echo hello; sleep 300")
	if r := s.must(t, "rename", old, nu); r.stdout != "" {
		t.Errorf("rename printed %q, want nothing", r.stdout)
	}
	t.Run("every command by the new name", func(t *testing.T) {
		if r := s.must(t, "ps", "-q", "--no-trunc", "--filter", "name="+nu); strings.TrimSpace(r.stdout) != id {
			t.Errorf("ps --filter name=%s: %q", nu, r.stdout)
		}
		if l := lineWith(s.must(t, "ps").stdout, nu); !strings.HasSuffix(strings.TrimSpace(l), nu) {
			t.Errorf("ps NAMES column: line %q", l)
		}
		if in := s.inspect(t, nu); in.ID != id || in.Name != "/"+nu {
			t.Errorf("inspect %s: Id %q Name %q", nu, short(in.ID), in.Name)
		}
		waitLogs(t, s, nu, "hello\n")
		if r := s.must(t, "exec", nu, "echo", "in"); r.stdout != "in\n" {
			t.Errorf("exec by the new name: %q", r.stdout)
		}
		s.must(t, "top", nu)
		s.must(t, "stop", "-t", "0", nu)
		s.must(t, "rm", nu)
		if r := s.skiff(nil, "inspect", id); r.code == 0 {
			t.Errorf("rm by the new name left the container")
		}
	})
	t.Run("the old name is free", func(t *testing.T) {
		if r := s.skiff(nil, "inspect", old); r.code == 0 {
			t.Errorf("inspect by the old name still finds a container")
		}
		s.create(t, "--name", old, fx.busybox, "true")
	})
	t.Run("to a used name", func(t *testing.T) {
		a, b := uniqueName(t), uniqueName(t)
		s.create(t, "--name", a, fx.busybox, "true")
		bid := s.create(t, "--name", b, fx.busybox, "true")
		r := s.skiff(nil, "rename", a, b)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "already in use") {
			t.Errorf("want docker's `Conflict. The container name \"/%s\" is already in use ...`; %q", b, r.stderr)
		}
		if in := s.inspect(t, b); in.ID != bid {
			t.Errorf("the name %s moved to %s", b, short(in.ID))
		}
		s.must(t, "inspect", a)
	})
	t.Run("two renames to one name at once", func(t *testing.T) {
		a, b, target := uniqueName(t), uniqueName(t), uniqueName(t)
		aid, bid := s.create(t, "--name", a, fx.busybox, "true"), s.create(t, "--name", b, fx.busybox, "true")
		done := make(chan result, 2)
		for _, from := range []string{a, b} {
			go func() { done <- s.skiff(nil, "rename", from, target) }()
		}
		r1, r2 := <-done, <-done
		if (r1.code == 0) == (r2.code == 0) {
			t.Fatalf("want exactly one rename to win; %v / %v", r1, r2)
		}
		winner := s.inspect(t, target).ID
		loserName, loserID := b, bid
		if winner == bid {
			loserName, loserID = a, aid
		}
		if winner != aid && winner != bid {
			t.Fatalf("%s names %s, neither renamed container", target, short(winner))
		}
		if in := s.inspect(t, loserName); in.ID != loserID {
			t.Errorf("the losing container lost its name %s", loserName)
		}
	})
	t.Run("to its own name", func(t *testing.T) {
		a := uniqueName(t)
		s.create(t, "--name", a, fx.busybox, "true")
		oneLineError(t, s.skiff(nil, "rename", a, a), 1)
	})
}

func TestPort(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	s.runD(t, "--name", name, fx.busybox, "sleep", "300")
	for _, args := range [][]string{{"port", name}, {"port", name, "80/tcp"}, {"container", "port", name}} {
		r := s.skiff(nil, args...)
		if strings.Join(args, " ") == "port "+name+" 80/tcp" {
			// docker: "Error: No public port '80/tcp' published for ..." exit 1
			if r.code != 1 || r.stdout != "" {
				t.Errorf("%s: want exit 1 and no stdout (no port published); %v", strings.Join(args, " "), r)
			}
			continue
		}
		if r.code != 0 || r.stdout != "" {
			t.Errorf("%s: want exit 0 and nothing listed; %v", strings.Join(args, " "), r)
		}
	}
}

// pruneStore is a private store: prune removes every stopped container of
// its store, which must not be the shared one.
func pruneStore(t *testing.T) *store {
	t.Helper()
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", fx.busybox)
	t.Cleanup(func() {
		for _, id := range strings.Fields(s.skiff(nil, "ps", "-aq", "--no-trunc").stdout) {
			s.skiff(nil, "rm", "-f", id)
		}
	})
	return s
}

func (s *store) allIDs(t *testing.T) map[string]bool {
	out := map[string]bool{}
	for _, id := range strings.Fields(s.must(t, "ps", "-aq", "--no-trunc").stdout) {
		out[id] = true
	}
	return out
}

func TestContainerPrune(t *testing.T) {
	s := pruneStore(t)
	running := s.runD(t, fx.busybox, "sleep", "300")
	exitedName := uniqueName(t)
	exited := idOf(t, s.skiff(nil, "run", "-d", "--name", exitedName, fx.busybox, "true"), "run -d true")
	s.waitStatus(t, exited, "exited", 10*time.Second)
	created := s.create(t, fx.busybox, "true")
	paused := s.runD(t, fx.busybox, "sleep", "300")
	s.must(t, "pause", paused)

	t.Run("without -f, an answer other than y keeps everything", func(t *testing.T) {
		r := s.skiff(strings.NewReader("n\n"), "container", "prune")
		if !strings.Contains(r.stdout+r.stderr, "Are you sure you want to continue? [y/N]") {
			t.Errorf("no docker prompt; %v", r)
		}
		if ids := s.allIDs(t); !ids[running] || !ids[exited] || !ids[created] || !ids[paused] {
			t.Errorf("after answering n: %v", keys(ids))
		}
	})
	t.Run("-f removes only the stopped ones", func(t *testing.T) {
		r := s.must(t, "container", "prune", "-f")
		if !strings.HasPrefix(r.stdout, "Deleted Containers:\n") || !strings.Contains(r.stdout, "Total reclaimed space:") {
			t.Errorf("want docker's \"Deleted Containers:\" ... \"Total reclaimed space: ...\"; %q", r.stdout)
		}
		for _, id := range []string{exited, created} {
			if !strings.Contains(r.stdout, id+"\n") {
				t.Errorf("prune output does not list %s", short(id))
			}
		}
		if strings.Contains(r.stdout, running) || strings.Contains(r.stdout, paused) {
			t.Errorf("prune lists the running or the paused container")
		}
		ids := s.allIDs(t)
		if !ids[running] || !ids[paused] || len(ids) != 2 {
			t.Errorf("after prune -f: %v, want only the running %s and the paused %s", keys(ids), short(running), short(paused))
		}
		if s.status(paused) != "paused" {
			t.Errorf("the paused container is %q after prune", s.status(paused))
		}
		for _, id := range []string{exited, created} {
			if _, err := os.Stat(filepath.Join(s.root, "containers", id)); err == nil {
				t.Errorf("containers/%s is left on disk after prune", short(id))
			}
		}
		s.create(t, "--name", exitedName, fx.busybox, "true") // its name is free again
		if s.status(running) != "running" {
			t.Errorf("the running container is %q after prune", s.status(running))
		}
	})
	t.Run("--filter until= keeps the newer ones", func(t *testing.T) {
		older := s.create(t, fx.busybox, "true")
		time.Sleep(2500 * time.Millisecond)
		newer := s.create(t, fx.busybox, "true")
		r := s.must(t, "container", "prune", "-f", "--filter", "until=2s")
		ids := s.allIDs(t)
		if ids[older] || !ids[newer] || !ids[running] {
			t.Errorf("prune --filter until=2s: left %v; want %s removed, %s and %s kept; %v",
				keys(ids), short(older), short(newer), short(running), r)
		}
		until := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		s.must(t, "container", "prune", "-f", "--filter", "until="+until)
		if ids := s.allIDs(t); !ids[newer] {
			t.Errorf("prune --filter until=%s (an hour ago) removed a new container", until)
		}
	})
}

// TestFsopsLongForms: every issue-4 verb's `skiff container ...` (and
// `image import`) form is the same command as the short one.
func TestFsopsLongForms(t *testing.T) {
	s := shared(t)
	name, renamed := uniqueName(t), uniqueName(t)
	s.runD(t, "--name", name, fx.busybox, "sleep", "300")
	host := t.TempDir() + "/f"
	os.WriteFile(host, []byte("f\n"), 0o644)
	ref, imported := s.imageRef(t), s.imageRef(t)
	for _, args := range [][]string{
		{"container", "cp", host, name + ":/f"},
		{"container", "cp", name + ":/f", host + "-back"},
		{"container", "diff", name},
		{"container", "pause", name},
		{"container", "unpause", name},
		{"container", "commit", name, ref},
		{"container", "export", "-o", host + ".tar", name},
		{"image", "import", host + ".tar", imported},
		{"container", "port", name},
		{"container", "rename", name, renamed},
		{"container", "stop", "-t", "0", renamed},
		{"container", "prune", "-f", "--filter", "until=1h"},
	} {
		t.Run(strings.Join(args[:2], " "), func(t *testing.T) {
			s.must(t, args...)
		})
	}
}

// TestFsopsBadInput: an unknown container is docker's one-line "No such
// container" with exit 1 for every issue-4 verb; a missing argument fails.
func TestFsopsBadInput(t *testing.T) {
	s := shared(t)
	const unknown = "nosuch-e2e-container"
	for _, args := range [][]string{
		{"commit", unknown}, {"export", unknown}, {"cp", unknown + ":/etc/passwd", t.TempDir()},
		{"cp", "/etc/hostname", unknown + ":/x"}, {"diff", unknown}, {"pause", unknown},
		{"unpause", unknown}, {"rename", unknown, "e2e-whatever"}, {"port", unknown},
		{"container", "diff", unknown},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := s.skiff(nil, args...)
			oneLineError(t, r, 1)
			if !strings.Contains(r.stderr, unknown) || !strings.Contains(strings.ToLower(r.stderr), "no such container") {
				t.Errorf("want docker's \"No such container: %s\"; %q", unknown, r.stderr)
			}
		})
	}
	t.Run("missing arguments", func(t *testing.T) {
		for _, args := range [][]string{{"commit"}, {"export"}, {"import"}, {"cp"}, {"cp", "a"}, {"diff"},
			{"pause"}, {"unpause"}, {"rename"}, {"rename", "a"}, {"port"}} {
			if r := s.skiff(nil, args...); r.code == 0 {
				t.Errorf("%q exits 0; %v", args, r)
			}
		}
	})
	t.Run("commit and import refuse a bad change or name, and make no image", func(t *testing.T) {
		n := uniqueName(t)
		s.create(t, "--name", n, fx.busybox, "true")
		ref := s.imageRef(t)
		tarFile := t.TempDir() + "/x.tar"
		s.must(t, "export", "-o", tarFile, n)
		before := len(s.imageRows(t))
		for _, args := range [][]string{
			{"commit", "-c", "RUN echo hi", n, ref}, // docker: not a valid change command
			{"commit", "-c", "NOSUCH x", n, ref},    // unknown instruction
			{"commit", n, "UPPER/Case:v1"},          // invalid reference format
			{"import", "-c", "RUN echo hi", tarFile, ref},
			{"import", tarFile, "UPPER/Case:v1"},
			{"import", t.TempDir() + "/nosuch.tar", ref},
		} {
			r := s.skiff(nil, args...)
			if r.code == 0 {
				t.Errorf("%q succeeded; docker refuses it", args)
				continue
			}
			oneLineError(t, r, 1)
		}
		if r := s.skiff(nil, "image", "inspect", ref); r.code == 0 {
			t.Errorf("a refused commit or import tagged %s", ref)
		}
		if after := len(s.imageRows(t)); after != before {
			t.Errorf("refused commits and imports left %d new images", after-before)
		}
	})
	t.Run("cp with no container side", func(t *testing.T) {
		d := t.TempDir()
		if r := s.skiff(nil, "cp", d+"/a", d+"/b"); r.code == 0 {
			t.Errorf("cp between two host paths exits 0 (docker refuses); %v", r)
		}
	})
}
