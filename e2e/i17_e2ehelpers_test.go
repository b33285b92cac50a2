package e2e

// Helpers of the issue-17 seccomp tests: the probe's image, runs and
// execs of i17probe whose answers come back as a map, and the answers
// docker's default filter gives.

import (
	"os"
	"sort"
	"strings"
	"testing"
)

// i17e2eImage is busybox with /bin/i17probe (testdata/i17probe).
func i17e2eImage(t *testing.T) string {
	t.Helper()
	return testProgImage(t, "i17probe")
}

// i17e2eDefault is what docker's default profile answers each probe in a
// container with docker's default capabilities: the calls its
// capability-gated rules keep from such a container get the profile's
// EPERM, clone3 and calls newer than the profile ENOSYS, so that libcs
// fall back (moby#42680). Checked by hand against crun loading
// moby/profiles' default.json on this kernel.
var i17e2eDefault = map[string]string{
	"getpid":            "ok",
	"keyctl":            "EPERM",
	"bpf":               "EPERM",
	"perf_event_open":   "EPERM",
	"unshare-user":      "EPERM",
	"clone-newuser":     "EPERM",
	"fork-exec":         "ok",
	"lsm_list_modules":  "EPERM",
	"cachestat":         i17e2eKernel,
	"removexattrat":     i17e2eKernel,
	"settime":           "EPERM",
	"init-module":       "EPERM",
	"clone3":            "ENOSYS",
	"highest+1":         "ENOSYS",
	"syscall-1000":      "ENOSYS",
	"personality-query": "ok",
	"personality-set":   "EPERM",
	"socket-vsock":      "EPERM",
	"socket-inet":       "ok",
	"mkdir":             "ok",
}

// i17e2eKernel in a want map is any answer but the filter's EPERM and
// ENOSYS: the filter let the call through, and the kernel's answer
// depends on the kernel.
const i17e2eKernel = "the kernel's answer"

// i17e2eSince are the kernels that first have the newer calls the probes
// make: on an older one (make e2e-v2's guest runs 6.1) the kernel itself
// answers ENOSYS.
var i17e2eSince = map[string][2]int{
	"cachestat":          {6, 5},
	"removexattrat":      {6, 13},
	"removexattrat-i386": {6, 13},
}

// i17e2eProbes are the probes' names, sorted, then status: every
// argument list the tests pass.
func i17e2eProbes() []string {
	var names []string
	for n := range i17e2eDefault {
		names = append(names, n)
	}
	sort.Strings(names)
	return append(names, "status")
}

// i17e2eParse reads i17probe's output: "NAME ANSWER" lines and
// /proc/self/status lines ("Seccomp:\t2"), both as key -> value.
func i17e2eParse(t *testing.T, out string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(l, ":\t")
		if !ok {
			k, v, ok = strings.Cut(l, " ")
		}
		if !ok {
			t.Fatalf("i17probe printed %q, not NAME ANSWER nor a status line, in:\n%s", l, out)
		}
		got[k] = strings.TrimSpace(v)
	}
	return got
}

// i17e2eRun is `run --rm --network none FLAGS IMAGE i17probe ARGS`,
// parsed; it fails the test unless the run exits 0.
func i17e2eRun(t *testing.T, st *store, flags []string, args ...string) map[string]string {
	t.Helper()
	runArgs := append(append([]string{"run", "--rm", "--network", "none"}, flags...), i17e2eImage(t), "i17probe")
	return i17e2eParse(t, st.must(t, append(runArgs, args...)...).stdout)
}

// i17e2eExec is `exec FLAGS ID i17probe ARGS`, parsed.
func i17e2eExec(t *testing.T, st *store, id string, flags []string, args ...string) map[string]string {
	t.Helper()
	execArgs := append(append(append([]string{"exec"}, flags...), id, "i17probe"), args...)
	return i17e2eParse(t, st.must(t, execArgs...).stdout)
}

// i17e2eCheck reports every key of want whose answer in got differs.
func i17e2eCheck(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for _, k := range i17e2eKeys(want) {
		if want[k] == i17e2eKernel {
			if since, ok := i17e2eSince[k]; ok && got[k] == "ENOSYS" && !i17e2eKernelAtLeast(t, since[0], since[1]) {
				continue // the kernel has no such call: ENOSYS is its own answer
			}
			if got[k] == "" || got[k] == "EPERM" || got[k] == "ENOSYS" {
				t.Errorf("%s: %s answered %q, want %s (the filter allows it)", what, k, got[k], want[k])
			}
			continue
		}
		if got[k] != want[k] {
			t.Errorf("%s: %s answered %q, want %q", what, k, got[k], want[k])
		}
	}
}

func i17e2eKeys(m map[string]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// i17e2eWith is the default answers with some replaced.
func i17e2eWith(over map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range i17e2eDefault {
		m[k] = v
	}
	for k, v := range over {
		m[k] = v
	}
	return m
}

// i17e2eOwnStatus is a line of the test process's own /proc/self/status
// ("CapBnd": the caller's bounding set, which `exec --privileged` gives).
func i17e2eOwnStatus(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":\t"); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("/proc/self/status has no %s line", key)
	return ""
}

// i17e2ePsA is `ps -a`'s ids and names, to show a failed run left no
// container behind.
func i17e2ePsA(t *testing.T, st *store) string {
	t.Helper()
	return st.must(t, "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}").stdout
}
