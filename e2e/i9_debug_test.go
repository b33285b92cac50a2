package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// The -D phase timeline (internal/timeline): one stderr line per phase of
// the CLI, the monitor and the container's init (or exec's process), in
// order, on one clock counted from the CLI's start; the container's own
// stdout and stderr unchanged, and nothing at all without -D.

// i9debugMark is one "skiff: debug: <process> <phase> <ms>" line.
type i9debugMark struct {
	name string // "<process> <phase>"
	ms   float64
}

// i9debugSplit separates the timeline from the rest of stderr (the
// container's own, and skiff's errors), failing on a malformed mark.
func i9debugSplit(t *testing.T, stderr string) (marks []i9debugMark, rest string) {
	t.Helper()
	for _, line := range strings.SplitAfter(stderr, "\n") {
		m, ok := strings.CutPrefix(line, "skiff: debug: ")
		if !ok {
			rest += line
			continue
		}
		f := strings.Fields(m)
		if len(f) != 3 {
			t.Fatalf("malformed mark %q: want <process> <phase> <ms>", line)
		}
		ms, err := strconv.ParseFloat(f[2], 64)
		if err != nil || ms < 0 {
			t.Fatalf("malformed mark %q: ms %q", line, f[2])
		}
		marks = append(marks, i9debugMark{f[0] + " " + f[1], ms})
	}
	return marks, rest
}

// i9debugCheck asserts want appears in marks in that order (later issues
// add phases between them) and that ms never falls from line to line.
func i9debugCheck(t *testing.T, marks []i9debugMark, want []string) {
	t.Helper()
	var names []string
	for i, m := range marks {
		names = append(names, m.name)
		if i > 0 && m.ms < marks[i-1].ms {
			t.Errorf("mark %q at %.2f ms after %q at %.2f ms: time went back", m.name, m.ms, marks[i-1].name, marks[i-1].ms)
		}
	}
	next := 0
	for _, n := range names {
		if next < len(want) && n == want[next] {
			next++
		}
	}
	if next < len(want) {
		t.Fatalf("timeline %q lacks %q in order (from %q on)", names, want, want[next])
	}
}

const i9debugScript = "echo out; echo err >&2"

func TestI9DebugRunTimeline(t *testing.T) {
	s := shared(t)
	for _, flag := range []string{"-D", "--debug"} {
		t.Run(flag, func(t *testing.T) {
			r := s.skiff(nil, flag, "run", "--rm", fx.busybox, "sh", "-c", i9debugScript)
			marks, rest := i9debugSplit(t, r.stderr)
			if r.code != 0 || r.stdout != "out\n" || rest != "err\n" {
				t.Fatalf("the container's output changed with %s: %v", flag, r)
			}
			i9debugCheck(t, marks, []string{
				"cli start", "cli args", "cli image", "cli created", "cli spawn-monitor",
				"monitor start", "monitor spawn-init",
				"init start", "init config", "init rootfs", "init pivot", "init ready", "init exec",
				"monitor init-running", "cli started", "monitor exited", "monitor recorded",
				"cli exited", "cli done",
			})
		})
	}
	t.Run("off", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", fx.busybox, "sh", "-c", i9debugScript)
		if r.code != 0 || r.stdout != "out\n" || r.stderr != "err\n" {
			t.Fatalf("without -D: %v; want the container's output alone", r)
		}
	})
}

func TestI9DebugExecTimeline(t *testing.T) {
	s := shared(t)
	id := s.runD(t, fx.busybox, "sleep", "300")
	r := s.skiff(nil, "-D", "exec", id, "sh", "-c", i9debugScript)
	marks, rest := i9debugSplit(t, r.stderr)
	if r.code != 0 || r.stdout != "out\n" || rest != "err\n" {
		t.Fatalf("the exec'd process's output changed with -D: %v", r)
	}
	i9debugCheck(t, marks, []string{
		"cli start", "cli args", "cli joined",
		"exec start", "exec config", "exec go", "exec exec",
		"cli exec-running", "cli exited", "cli done",
	})
	if r := s.skiff(nil, "exec", id, "sh", "-c", i9debugScript); r.code != 0 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Fatalf("exec without -D: %v; want the process's output alone", r)
	}
}
