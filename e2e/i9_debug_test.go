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

// i9debugCheck asserts each process's marks never go back in time, and
// that the phases of want happened in that order (later issues add phases
// between them) by their ms: lines of two processes print in the order
// they arrive, which may differ from the order they happened in, but each
// phase of want causes the next.
func i9debugCheck(t *testing.T, marks []i9debugMark, want []string) {
	t.Helper()
	at := map[string]float64{}
	last := map[string]i9debugMark{}
	var names []string
	for _, m := range marks {
		names = append(names, m.name)
		proc, _, _ := strings.Cut(m.name, " ")
		if prev, ok := last[proc]; ok && m.ms < prev.ms {
			t.Errorf("mark %q at %.2f ms after %q at %.2f ms: time went back", m.name, m.ms, prev.name, prev.ms)
		}
		last[proc] = m
		if _, seen := at[m.name]; !seen {
			at[m.name] = m.ms
		}
	}
	for i, w := range want {
		ms, ok := at[w]
		if !ok {
			t.Fatalf("timeline %q lacks %q", names, w)
		}
		if i > 0 && ms < at[want[i-1]] {
			t.Errorf("%q at %.2f ms before %q at %.2f ms, which causes it", w, ms, want[i-1], at[want[i-1]])
		}
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
			// run spawns the monitor before it creates the record; the
			// monitor starts the init at once, and gives it its config on
			// the CLI's Go (issue 10): the init's start-up overlaps the
			// CLI's create.
			i9debugCheck(t, marks, []string{"cli args", "cli spawn-monitor", "cli image", "cli created", "monitor go", "init config"})
			i9debugCheck(t, marks, []string{"cli spawn-monitor", "monitor start", "monitor spawn-init", "monitor go"})
			i9debugCheck(t, marks, []string{
				"cli start", "cli args", "cli spawn-monitor",
				"monitor start", "monitor spawn-init",
				"init start", "init config", "init rootfs", "init pivot", "init ready", "init exec",
				"monitor init-running", "monitor exited", "monitor recorded",
				"cli exited", "cli done",
			})
			// The CLI hears "started" while the container may already have
			// exited: after init-running, before the CLI's own exit.
			i9debugCheck(t, marks, []string{"monitor init-running", "cli started", "cli exited"})
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
