package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Helpers for the issue-3 lifecycle tests: containers that outlive the CLI.

var (
	fullID  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	shortID = regexp.MustCompile(`^[0-9a-f]{12}$`)
	nameSeq atomic.Int64
)

// uniqueName is a container name no other test uses, readable in failures.
func uniqueName(t *testing.T) string {
	base := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	if len(base) > 40 {
		base = base[len(base)-40:]
	}
	return fmt.Sprintf("e2e-%s-%d", strings.Trim(base, "-"), nameSeq.Add(1))
}

// idOf asserts a command printed exactly one 64-hex id and returns it.
func idOf(t *testing.T, r result, what string) string {
	t.Helper()
	id := strings.TrimSuffix(r.stdout, "\n")
	if r.code != 0 || !fullID.MatchString(id) {
		t.Fatalf("%s: want exit 0 and a 64-hex id on stdout; %v", what, r)
	}
	return id
}

// runD runs `run -d args...`, asserts docker's output (the full id and a
// newline) and removes the container when the test ends.
func (s *store) runD(t *testing.T, args ...string) string {
	t.Helper()
	id := idOf(t, s.skiff(nil, append([]string{"run", "-d"}, args...)...), "run -d "+strings.Join(args, " "))
	s.cleanup(t, id)
	return id
}

// create runs `create args...` and removes the container when the test ends.
func (s *store) create(t *testing.T, args ...string) string {
	t.Helper()
	id := idOf(t, s.skiff(nil, append([]string{"create"}, args...)...), "create "+strings.Join(args, " "))
	s.cleanup(t, id)
	return id
}

// cleanup removes a container this test started (rm -f, ignoring "no such").
func (s *store) cleanup(t *testing.T, id string) {
	t.Cleanup(func() { s.skiff(nil, "rm", "-f", id) })
}

// inspectJSON is docker's container inspect, the fields the tests read.
type inspectJSON struct {
	ID      string `json:"Id"`
	Name    string
	Created string
	Image   string
	State   struct {
		Status     string
		Running    bool
		Paused     bool
		Restarting bool
		OOMKilled  bool
		Dead       bool
		Pid        int
		ExitCode   int
		Error      string
		StartedAt  string
		FinishedAt string
	}
	Config struct {
		Hostname   string
		Image      string
		Cmd        []string
		Entrypoint []string
		Env        []string
		Labels     map[string]string
		WorkingDir string
		User       string
		Tty        bool
		OpenStdin  bool
		StopSignal string
	}
	HostConfig struct {
		AutoRemove    bool
		Init          *bool
		RestartPolicy struct {
			Name              string
			MaximumRetryCount int
		}
	}
	Mounts       []any
	RestartCount int
	LogPath      string
}

// inspect returns the record of one container; it fails the test when
// inspect fails or does not print a one-element JSON array.
func (s *store) inspect(t *testing.T, id string) inspectJSON {
	t.Helper()
	r := s.must(t, "inspect", id)
	var out []inspectJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: want a JSON array of one container: %v; %v", id, err, r)
	}
	return out[0]
}

// status is `inspect -f {{.State.Status}}`, "" when that fails.
func (s *store) status(id string) string {
	r := s.skiff(nil, "inspect", "-f", "{{.State.Status}}", id)
	if r.code != 0 {
		return ""
	}
	return strings.TrimSpace(r.stdout)
}

// waitStatus polls until the container's status is want.
func (s *store) waitStatus(t *testing.T, id, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	got := ""
	for time.Now().Before(deadline) {
		if got = s.status(id); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("container %s: status %q after %s, want %q", short(id), got, timeout, want)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// procStat is what the tests read from /proc/<pid>/stat.
type procStat struct {
	state     byte
	ppid      int
	startTime uint64
}

func readStat(pid int) (procStat, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, false
	}
	f := strings.Fields(s[i+1:]) // f[0] state, f[1] ppid, f[19] starttime
	if len(f) < 20 {
		return procStat{}, false
	}
	ppid, _ := strconv.Atoi(f[1])
	st, _ := strconv.ParseUint(f[19], 10, 64)
	return procStat{state: f[0][0], ppid: ppid, startTime: st}, true
}

// alive: the pid exists and is not a zombie.
func alive(pid int) bool {
	st, ok := readStat(pid)
	return ok && st.state != 'Z' && st.state != 'X'
}

func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// storeProcs lists processes holding a file, cwd or exe under the store's
// root or runroot: a monitor holds its monitor.lock for life, so when no
// container runs this must be empty.
func (s *store) storeProcs() []int {
	var out []int
	under := func(p string) bool {
		return strings.HasPrefix(p, s.root+"/") || strings.HasPrefix(p, s.runroot+"/")
	}
	for _, pid := range allPids() {
		if pid == os.Getpid() {
			continue
		}
		hit := false
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && under(l) {
			hit = true
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && under(l) {
				hit = true
				break
			}
		}
		if hit {
			out = append(out, pid)
		}
	}
	return out
}

// skiffProcs lists live processes running our skiff binary (the CLI, a
// monitor), by exe or argv[0], with their command lines.
func skiffProcs() map[int]string {
	out := map[int]string{}
	for _, pid := range allPids() {
		if pid == os.Getpid() || !alive(pid) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		argv := strings.Split(string(cmd), "\x00")
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if strings.TrimSuffix(exe, " (deleted)") == skiffBin || argv[0] == skiffBin {
			out[pid] = strings.Join(argv, " ")
		}
	}
	return out
}

// zombiesOf lists zombie children of the given parents.
func zombiesOf(parents ...int) []int {
	set := map[int]bool{}
	for _, p := range parents {
		set[p] = true
	}
	var out []int
	for _, pid := range allPids() {
		if st, ok := readStat(pid); ok && st.state == 'Z' && set[st.ppid] {
			out = append(out, pid)
		}
	}
	return out
}

// mountsUnder lists host mount points under the store.
func (s *store) mountsUnder() []string {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (strings.HasPrefix(f[4], s.root+"/") || strings.HasPrefix(f[4], s.runroot+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// assertQuiet checks what the issue promises when no container of this
// store runs: no process of ours left holding it, no zombie child of the
// test or of a skiff process, no mount under it.
func (s *store) assertQuiet(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	var procs []int
	for {
		if procs = s.storeProcs(); len(procs) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, pid := range procs {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		t.Errorf("process %d still holds the store with no container running: %q", pid, strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	parents := []int{os.Getpid()}
	for pid := range skiffProcs() {
		parents = append(parents, pid)
	}
	if z := zombiesOf(parents...); len(z) != 0 {
		t.Errorf("zombie children of the test or of skiff: %v", z)
	}
	if m := s.mountsUnder(); len(m) != 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
}

// killLeftovers registers, to run after every other cleanup of the test, a
// SIGKILL of any process still holding this private store: a monitor a
// fault left behind must not outlive the test (the failure is reported by
// assertQuiet).
func (s *store) killLeftovers(t *testing.T) {
	t.Cleanup(func() {
		for _, pid := range s.storeProcs() {
			kill9(pid)
		}
	})
}

// assertNoContainers: ps -a lists nothing and containers/ is empty.
func (s *store) assertNoContainers(t *testing.T) {
	t.Helper()
	if r := s.must(t, "ps", "-aq"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("ps -aq lists containers: %q", r.stdout)
	}
	ents, _ := os.ReadDir(filepath.Join(s.root, "containers"))
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(s.root, "containers", e.Name(), "state.json"))
		var st struct{ Name, Status string }
		json.Unmarshal(b, &st)
		files, _ := os.ReadDir(filepath.Join(s.root, "containers", e.Name()))
		var names []string
		for _, f := range files {
			names = append(names, f.Name())
		}
		t.Errorf("containers/%s left after every container was removed (record name %q status %q; holds %v; mounted in the mount namespaces of pids %v)",
			short(e.Name()), st.Name, st.Status, names, mountedIn(e.Name()))
	}
}

// mountedIn lists processes whose mount table mentions a container's dir:
// who keeps a leaked rootfs mount alive.
func mountedIn(id string) []string {
	var out []string
	for _, pid := range allPids() {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
		if strings.Contains(string(b), id) {
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			out = append(out, fmt.Sprintf("%d(%s)", pid, strings.TrimSpace(string(comm))))
		}
	}
	return out
}

// monitorOf is the parent of the container's init: its monitor.
func monitorOf(t *testing.T, pid int) int {
	t.Helper()
	st, ok := readStat(pid)
	if !ok {
		t.Fatalf("container process %d is gone", pid)
	}
	return st.ppid
}

func kill9(pid int) { syscall.Kill(pid, syscall.SIGKILL) }

// timed runs f and returns how long it took.
func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

// stateFilesParse checks every container record in the store is valid JSON.
func (s *store) stateFilesParse(t *testing.T) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(s.root, "containers", "*", "state.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		var v map[string]any
		if err == nil {
			err = json.Unmarshal(b, &v)
		}
		if err != nil {
			t.Errorf("corrupt container record %s: %v", f, err)
		}
	}
}
