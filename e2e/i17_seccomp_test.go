package e2e

// Issue 17: docker's default seccomp filter on every process of a
// container, seen from inside by i17probe (testdata/i17probe), which
// makes each system call with harmless arguments and prints the errno:
// run, exec (also --privileged), build's RUN, seccomp=unconfined, a
// profile file, the other --security-opt values, info and inspect.

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestI17SeccompDefault: a default container's process runs under
// docker's filter (Seccomp: 2) and every probe gets the profile's answer;
// no_new_privs is off unless --security-opt no-new-privileges asks for it,
// and the filter stays either way.
func TestI17SeccompDefault(t *testing.T) {
	st := shared(t)
	got := i17e2eRun(t, st, nil, i17e2eProbes()...)
	i17e2eCheck(t, "default container", got, i17e2eWith(map[string]string{"Seccomp": "2", "NoNewPrivs": "0"}))

	for _, tc := range []struct {
		opt, nnp string
	}{
		{"no-new-privileges", "1"},
		{"no-new-privileges=true", "1"},
		{"no-new-privileges=false", "0"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			got := i17e2eRun(t, st, []string{"--security-opt", tc.opt}, "keyctl", "clone3", "status")
			i17e2eCheck(t, tc.opt, got, map[string]string{"keyctl": "EPERM", "clone3": "ENOSYS", "Seccomp": "2", "NoNewPrivs": tc.nnp})
		})
	}
}

// TestI17SeccompExec: an exec'd process gets the container's filter and
// no_new_privs (it must not be the way around them); exec --privileged
// gets every capability of the caller's bounding set, as docker's, and
// keeps the filter; a seccomp=unconfined container's exec has none.
func TestI17SeccompExec(t *testing.T) {
	st := shared(t)
	img := i17e2eImage(t)
	id := st.runD(t, "--network", "none", img, "sleep", "300")

	plain := i17e2eExec(t, st, id, nil, i17e2eProbes()...)
	i17e2eCheck(t, "exec", plain, i17e2eWith(map[string]string{"Seccomp": "2", "NoNewPrivs": "0"}))

	caller := i17e2eOwnStatus(t, "CapBnd")
	priv := i17e2eExec(t, st, id, []string{"--privileged"}, i17e2eProbes()...)
	i17e2eCheck(t, "exec --privileged", priv, i17e2eWith(map[string]string{
		"Seccomp": "2", "NoNewPrivs": "0", "CapEff": caller, "CapPrm": caller, "CapBnd": caller}))
	if plain["CapEff"] == caller {
		t.Errorf("a plain exec has every capability of the caller (%s): the default set is smaller", caller)
	}

	nnp := st.runD(t, "--network", "none", "--security-opt", "no-new-privileges", img, "sleep", "300")
	i17e2eCheck(t, "exec into a no-new-privileges container", i17e2eExec(t, st, nnp, nil, "keyctl", "status"),
		map[string]string{"keyctl": "EPERM", "Seccomp": "2", "NoNewPrivs": "1"})

	unconfined := st.runD(t, "--network", "none", "--security-opt", "seccomp=unconfined", img, "sleep", "300")
	i17e2eCheck(t, "exec into a seccomp=unconfined container", i17e2eExec(t, st, unconfined, nil, "personality-set", "status"),
		map[string]string{"personality-set": "ok", "Seccomp": "0"})
}

// TestI17SeccompUnconfined: seccomp=unconfined loads no filter, so each
// probe gets the kernel's own answer: settime and clone3 the kernel's
// EINVAL for their bad arguments (never the filter's EPERM and ENOSYS),
// and calls the kernel lets a capability-less root make are no longer
// EPERM. The calls the kernel itself refuses without a capability (bpf,
// perf_event_open, init-module) are left out: EPERM is a right answer there.
func TestI17SeccompUnconfined(t *testing.T) {
	st := shared(t)
	got := i17e2eRun(t, st, []string{"--security-opt", "seccomp=unconfined"}, i17e2eProbes()...)
	i17e2eCheck(t, "seccomp=unconfined", got, map[string]string{
		"Seccomp": "0", "getpid": "ok", "settime": "EINVAL", "clone3": "EINVAL",
		"personality-set": "ok", "syscall-1000": "ENOSYS", "socket-inet": "ok", "fork-exec": "ok"})
	notEPERM := []string{"keyctl", "socket-vsock", "lsm_list_modules"}
	if b, err := os.ReadFile("/proc/sys/kernel/unprivileged_userns_clone"); err != nil || strings.TrimSpace(string(b)) != "0" {
		notEPERM = append(notEPERM, "unshare-user", "clone-newuser") // Debian's switch off makes them the kernel's EPERM
	}
	for _, k := range notEPERM {
		if got[k] == "EPERM" || got[k] == "" {
			t.Errorf("seccomp=unconfined: %s answered %q, want the kernel's answer, not EPERM", k, got[k])
		}
	}
	if i17e2eKernelAtLeast(t, 6, 15) && got["highest+1"] == "ENOSYS" {
		t.Errorf("seccomp=unconfined: highest+1 (open_tree_attr) answered ENOSYS on a kernel that has it")
	}
}

// TestI17SeccompCompatABI: the filter holds for the i386 ABI too, which a
// 64-bit process reaches through int $0x80 (seccomp sees AUDIT_ARCH_I386
// and i386 numbers): keyctl is EPERM and clone3 ENOSYS there as well, and
// an allowed call still works; unconfined, the kernel answers.
func TestI17SeccompCompatABI(t *testing.T) {
	st := shared(t)
	i17e2eImage(t) // builds the probe the host check below runs
	if out, err := exec.Command(testProgPath("i17probe"), "getpid-i386").CombinedOutput(); err != nil || string(out) != "getpid-i386 ok\n" {
		t.Skipf("this kernel takes no i386 calls (ia32 emulation off?): %v %q", err, out)
	}
	probes := []string{"getpid-i386", "keyctl-i386", "clone3-i386", "removexattrat-i386", "status"}
	i17e2eCheck(t, "i386 ABI, default filter", i17e2eRun(t, st, nil, probes...), map[string]string{
		"getpid-i386": "ok", "keyctl-i386": "EPERM", "clone3-i386": "ENOSYS", "removexattrat-i386": i17e2eKernel, "Seccomp": "2"})
	i17e2eCheck(t, "i386 ABI, seccomp=unconfined", i17e2eRun(t, st, []string{"--security-opt", "seccomp=unconfined"}, probes...),
		map[string]string{"getpid-i386": "ok", "clone3-i386": "EINVAL", "Seccomp": "0"})
}

// i17e2eKernelAtLeast reports whether the running kernel is major.minor or
// newer.
func i17e2eKernelAtLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	parts := strings.SplitN(rel, ".", 3)
	if len(parts) < 2 {
		t.Fatalf("kernel release %q", rel)
	}
	maj, _ := strconv.Atoi(parts[0])
	min, _ := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	return maj > major || maj == major && min >= minor
}

// TestI17SeccompProfileFile: a profile file in docker's JSON replaces the
// default: here everything is allowed but mkdir, which answers the errno
// the profile chose (EXDEV); inspect keeps the profile as docker's CLI
// sends it, "seccomp=" and the compacted JSON. A missing or malformed
// file fails the run with 125 and one line, before any container exists.
func TestI17SeccompProfileFile(t *testing.T) {
	st := shared(t)
	img := i17e2eImage(t)
	dir := t.TempDir()
	profile := filepath.Join(dir, "profile.json")
	body := `{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}
  ]
}
`
	if err := os.WriteFile(profile, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	name := uniqueName(t)
	r := st.must(t, "run", "--name", name, "--network", "none", "--security-opt", "seccomp="+profile, img, "i17probe", "mkdir", "keyctl", "clone3", "getpid", "status")
	st.cleanup(t, name)
	i17e2eCheck(t, "profile file", i17e2eParse(t, r.stdout), map[string]string{
		"mkdir": "EXDEV", "keyctl": "ok", "clone3": "EINVAL", "getpid": "ok", "Seccomp": "2"})
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(body)); err != nil {
		t.Fatal(err)
	}
	i17e2eCheckSecurityOpt(t, st, name, []string{"seccomp=" + compact.String()})

	// create keeps the profile in the container, not the path: the file
	// may go before start, and a second start loads the same filter.
	id := st.create(t, "--network", "none", "--security-opt", "seccomp="+profile, img, "i17probe", "mkdir", "keyctl", "status")
	if err := os.Remove(profile); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		i17e2eCheck(t, "create, then start -a", i17e2eParse(t, st.must(t, "start", "-a", id).stdout),
			map[string]string{"mkdir": "EXDEV", "keyctl": "ok", "Seccomp": "2"})
	}

	missing := filepath.Join(dir, "missing.json")
	malformed := filepath.Join(dir, "malformed.json")
	badAction := filepath.Join(dir, "bad-action.json")
	os.WriteFile(malformed, []byte(`{"defaultAction": "SCMP_ACT_ALLOW",`), 0o644)
	os.WriteFile(badAction, []byte(`{"defaultAction": "SCMP_ACT_NOPE"}`), 0o644)
	for _, tc := range []struct {
		name, file, want string
	}{
		{"missing", missing, "opening seccomp profile (" + missing + ") failed: "},
		{"malformed", malformed, "compacting json for seccomp profile (" + malformed + ") failed: "},
		{"unknown action", badAction, "SCMP_ACT_NOPE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := i17e2ePsA(t, st)
			name := uniqueName(t)
			r := st.skiff(nil, "run", "--name", name, "--network", "none", "--security-opt", "seccomp="+tc.file, img, "true")
			st.cleanup(t, name)
			runError(t, r, 125)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.want)
			}
			if after := i17e2ePsA(t, st); after != before {
				t.Errorf("the failed run left a container behind:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// i17e2eCheckSecurityOpt asserts inspect's HostConfig.SecurityOpt.
func i17e2eCheckSecurityOpt(t *testing.T, st *store, id string, want []string) {
	t.Helper()
	r := st.must(t, "inspect", "--format", "{{json .HostConfig.SecurityOpt}}", id)
	var got []string
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("HostConfig.SecurityOpt %q: %v", r.stdout, err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("HostConfig.SecurityOpt = %q, want %q", got, want)
	}
}

// TestI17SecurityOptValues: docker's accepted values run (apparmor and
// SELinux labels have nothing to turn off here); docker's refusals get its
// words, and LSM settings skiff cannot apply say so; every refusal is 125
// with one line and no container.
func TestI17SecurityOptValues(t *testing.T) {
	st := shared(t)
	img := i17e2eImage(t)
	for _, opt := range []string{"apparmor=unconfined", "label=disable", "seccomp=builtin", "no-new-privileges"} {
		t.Run(opt, func(t *testing.T) {
			got := i17e2eRun(t, st, []string{"--security-opt", opt}, "keyctl", "status")
			i17e2eCheck(t, opt, got, map[string]string{"keyctl": "EPERM", "Seccomp": "2"})
		})
	}
	for _, tc := range []struct{ opt, want string }{
		{"foo=bar", `invalid --security-opt 2: "foo=bar"`},
		{"no-new-privileges=maybe", `invalid --security-opt 2: "no-new-privileges=maybe"`},
		{"label", `invalid --security-opt: "label"`},
		{"label=type:x", "label=type:x"},
		{"apparmor=docker-default", "apparmor=docker-default"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			before := i17e2ePsA(t, st)
			r := st.skiff(nil, "run", "--rm", "--network", "none", "--security-opt", tc.opt, img, "true")
			runError(t, r, 125)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.want)
			}
			if tc.want == tc.opt && !strings.Contains(r.stderr, "not supported yet") {
				t.Errorf("stderr %q does not say %s is not supported yet", r.stderr, tc.opt)
			}
			if after := i17e2ePsA(t, st); after != before {
				t.Errorf("the refused run left a container behind:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// TestI17SeccompInfoInspect: info lists seccomp with docker's builtin
// profile under Security Options (text and --format, as docker's daemon
// reports it); inspect's HostConfig.SecurityOpt is what was given, in
// order, and null without any.
func TestI17SeccompInfoInspect(t *testing.T) {
	st := shared(t)
	img := i17e2eImage(t)
	r := st.must(t, "info")
	if !strings.Contains(r.stdout, "\n Security Options:\n  seccomp\n   Profile: builtin\n") {
		t.Errorf("info lacks seccomp with Profile: builtin under Security Options:\n%s", r.stdout)
	}
	r = st.must(t, "info", "--format", "{{json .SecurityOptions}}")
	if got := strings.TrimSpace(r.stdout); got != `["name=seccomp,profile=builtin"]` {
		t.Errorf("info .SecurityOptions = %s, want docker's [\"name=seccomp,profile=builtin\"]", got)
	}

	opts := []string{"seccomp=unconfined", "no-new-privileges", "apparmor=unconfined", "label=disable"}
	args := []string{"--network", "none"}
	for _, o := range opts {
		args = append(args, "--security-opt", o)
	}
	id := st.create(t, append(args, img, "true")...)
	i17e2eCheckSecurityOpt(t, st, id, opts)
	none := st.create(t, "--network", "none", img, "true")
	if r := st.must(t, "inspect", "--format", "{{json .HostConfig.SecurityOpt}}", none); strings.TrimSpace(r.stdout) != "null" {
		t.Errorf("HostConfig.SecurityOpt without --security-opt = %s, want docker's null", r.stdout)
	}
}

// TestI17SeccompBuildRun: a build's RUN runs under the default filter, as
// docker's builder's does: the probe's answers, written into the image by
// the RUN, are the default container's.
func TestI17SeccompBuildRun(t *testing.T) {
	st := shared(t)
	img := i17e2eImage(t)
	tag := "i17e2e-build-run"
	df := "FROM " + img + "\nRUN i17probe keyctl clone3 unshare-user getpid status > /i17probe.out\n"
	if r := st.skiff(strings.NewReader(df), "build", "-q", "-t", tag, "-"); r.code != 0 {
		t.Fatalf("build: %v", r)
	}
	t.Cleanup(func() { st.skiff(nil, "rmi", "-f", tag) })
	r := st.must(t, "run", "--rm", "--network", "none", tag, "cat", "/i17probe.out")
	i17e2eCheck(t, "build RUN", i17e2eParse(t, r.stdout), map[string]string{
		"keyctl": "EPERM", "clone3": "ENOSYS", "unshare-user": "EPERM", "getpid": "ok", "Seccomp": "2", "NoNewPrivs": "0"})
}
