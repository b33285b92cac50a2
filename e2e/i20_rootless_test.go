package e2e

// Issue 20's end-to-end tests: skiff as an unprivileged user the harness
// makes (i20_e2ehelpers_test.go), run through runuser as a user with no
// session would. TestI20Rootless shares one user with a full range of
// subordinate ids and one pull across its subtests (each can also run
// alone: what it needs is pulled on first use); TestI20RootlessNoRanges
// is a user without ranges.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestI20Rootless(t *testing.T) {
	u := i20e2eNewUser(t, true)
	imgs := i20e2eImages(t)
	before := i20e2eRootfulSnapshot(t)
	t.Run("info", func(t *testing.T) { i20e2eInfo(t, u) })
	t.Run("pull", func(t *testing.T) { i20e2ePull(t, u) })
	t.Run("runtime dir", func(t *testing.T) { i20e2eRuntimeDir(t, u) })
	t.Run("run", func(t *testing.T) { i20e2eRunFlags(t, u) })
	t.Run("name", func(t *testing.T) { i20e2eRunName(t, u) })
	t.Run("-it", func(t *testing.T) { i20e2eTerminal(t, u) })
	t.Run("detached", func(t *testing.T) { i20e2eDetached(t, u) })
	t.Run("rm -f", func(t *testing.T) { i20e2eRmForce(t, u) })
	t.Run("cp", func(t *testing.T) { i20e2eCp(t, u) })
	t.Run("commit", func(t *testing.T) { i20e2eCommit(t, u) })
	t.Run("build", func(t *testing.T) { i20e2eBuild(t, u) })
	t.Run("bind", func(t *testing.T) { i20e2eBind(t, u) })
	t.Run("named volume", func(t *testing.T) { i20e2eNamedVolume(t, u) })
	t.Run("-v :U", func(t *testing.T) { i20e2eChownVolume(t, u) })
	t.Run("fuse-overlayfs", func(t *testing.T) { i20e2eFuseOverlay(t, u) })
	t.Run("image owners", func(t *testing.T) { i20e2eImageOwners(t, u, imgs.owners) })
	t.Run("limits ignored", func(t *testing.T) { i20e2eLimits(t, u) })
	t.Run("network", func(t *testing.T) { i20e2eNetwork(t, u) })
	t.Run("host file", func(t *testing.T) { i20e2eHostSecret(t, u) })
	t.Run("mknod", func(t *testing.T) { i20e2eMknod(t, u) })
	t.Run("rootful store untouched", func(t *testing.T) { i20e2eRootfulCheck(t, u, before) })
}

// i20e2eBusybox is busybox pulled into u's store (once: the pull subtest's
// own pull counts).
func i20e2eBusybox(t *testing.T, u *i20e2eUser) string {
	t.Helper()
	if !i20e2eHasImage(t, u, fx.busybox) {
		u.st.must(t, "pull", fx.busybox)
	}
	return fx.busybox
}

func i20e2eHasImage(t *testing.T, u *i20e2eUser, ref string) bool {
	t.Helper()
	return u.st.skiff(nil, "image", "inspect", ref).code == 0
}

// info and version run on the host as the user: info names the user's
// store; runuser gave skiff no runtime dir.
func i20e2eInfo(t *testing.T, u *i20e2eUser) {
	out, err := u.cmdOut("env")
	if err != nil || strings.Contains(out, "XDG_") || !strings.Contains(out, "HOME="+u.home+"\n") {
		t.Fatalf("runuser's env: %v\n%s\nwant HOME=%s and no XDG_ variable", err, out, u.home)
	}
	u.st.must(t, "version")
	r := u.st.must(t, "info")
	if !strings.Contains(r.stdout, "Docker Root Dir: "+u.st.root+"\n") {
		t.Errorf("info: want Docker Root Dir: %s; %v", u.st.root, r)
	}
	if !regexp.MustCompile(`(?m)^\s+rootless$`).MatchString(r.stdout) {
		t.Errorf("info: want rootless among the security options; %v", r)
	}
}

// pull as the user: no warning with a full range; the layer lands in the
// user's store, its root files owned by the user and busybox's
// /home/app (1000:1000) by the range's 1000th id.
func i20e2ePull(t *testing.T, u *i20e2eUser) {
	r := u.st.skiff(nil, "pull", fx.busybox)
	if r.code != 0 {
		t.Fatalf("pull: %v", r)
	}
	if w := i20e2eWarnings(r.stderr); len(w) > 0 {
		t.Errorf("pull with a full range warned: %q", w)
	}
	if out := u.st.must(t, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout; !strings.Contains(out, fx.busybox+"\n") {
		t.Errorf("images: %q, want %s", out, fx.busybox)
	}
	bins, _ := filepath.Glob(filepath.Join(u.st.root, "layers", "*", "diff", "bin", "busybox"))
	if len(bins) != 1 {
		t.Fatalf("the busybox layer's bin/busybox in %s/layers: found %v, want one", u.st.root, bins)
	}
	diff := filepath.Dir(filepath.Dir(bins[0]))
	for path, want := range map[string]string{
		"bin/busybox": fmt.Sprintf("%d:%d", u.uid, u.gid),
		"home/app":    fmt.Sprintf("%d:%d", u.hostUID(1000), u.hostGID(1000)),
	} {
		if got := i20e2eStat(t, filepath.Join(diff, path)); got != want {
			t.Errorf("%s of the extracted layer is %s on the host, want %s", path, got, want)
		}
	}
}

// The runtime dir falls back to /tmp/skiff-run-UID, the user's, 0700,
// with skiff's run root in it.
func i20e2eRuntimeDir(t *testing.T, u *i20e2eUser) {
	u.st.must(t, "run", "--rm", i20e2eBusybox(t, u), "true")
	fi, err := os.Stat(u.runDir())
	if err != nil {
		t.Fatalf("the fallback runtime dir: %v", err)
	}
	if fi.Mode() != os.ModeDir|0o700 {
		t.Errorf("%s has mode %v, want drwx------", u.runDir(), fi.Mode())
	}
	if got, want := i20e2eStat(t, u.runDir()), fmt.Sprintf("%d:%d", u.uid, u.gid); got != want {
		t.Errorf("%s is owned by %s, want the user's %s", u.runDir(), got, want)
	}
	if _, err := os.Stat(u.st.runroot); err != nil {
		t.Errorf("skiff's run root in the fallback dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join("/run/user", fmt.Sprint(u.uid), "skiff")); err == nil {
		t.Errorf("skiff used /run/user/%d, which no session made", u.uid)
	}
}

// The core run flags and exit codes, as the user; --rm leaves nothing.
func i20e2eRunFlags(t *testing.T, u *i20e2eUser) {
	bb := i20e2eBusybox(t, u)
	before := u.st.must(t, "ps", "-aq").stdout
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout string // when the run exits 0 or N
	}{
		{"exit 0", []string{bb, "true"}, 0, ""},
		{"exit N", []string{bb, "sh", "-c", "echo out; exit 7"}, 7, "out\n"},
		{"root inside", []string{bb, "sh", "-c", "id -u; id -g"}, 0, "0\n0\n"},
		{"-e", []string{"-e", "FOO=bar baz", bb, "sh", "-c", "echo $FOO"}, 0, "bar baz\n"},
		{"-w", []string{"-w", "/made/here", bb, "pwd"}, 0, "/made/here\n"},
		{"-u uid:gid", []string{"-u", "1000:33", bb, "sh", "-c", "id -u; id -g"}, 0, "1000\n33\n"},
		{"-u name", []string{"-u", "app", bb, "sh", "-c", "id -un; echo $HOME"}, 0, "app\n/home/app\n"},
		{"--entrypoint", []string{"--entrypoint", "echo", bb, "from", "entrypoint"}, 0, "from entrypoint\n"},
		{"125 flag", []string{"--no-such-flag", bb, "true"}, 125, ""},
		{"125 image", []string{reg.Addr + "/i20/nosuch:latest", "true"}, 125, ""},
		{"126", []string{bb, "/etc/passwd"}, 126, ""},
		{"127", []string{bb, "no-such-command"}, 127, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := u.st.skiff(nil, append([]string{"run", "--rm"}, c.args...)...)
			if c.code >= 125 {
				runError(t, r, c.code)
				return
			}
			if r.code != c.code || r.stdout != c.stdout {
				t.Errorf("want exit %d and stdout %q; %v", c.code, c.stdout, r)
			}
		})
	}
	if after := u.st.must(t, "ps", "-aq").stdout; after != before {
		t.Errorf("run --rm left containers: ps -aq %q, was %q", after, before)
	}
}

// --name without --rm: the exited container is listed by name, rm
// removes it.
func i20e2eRunName(t *testing.T, u *i20e2eUser) {
	name := uniqueName(t)
	if r := u.st.skiff(nil, "run", "--name", name, i20e2eBusybox(t, u), "echo", "named"); r.code != 0 || r.stdout != "named\n" {
		t.Fatalf("run --name: %v", r)
	}
	u.st.cleanup(t, name)
	ps := u.st.must(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}} {{.Status}}").stdout
	if !strings.HasPrefix(ps, name+" Exited (0)") {
		t.Errorf("ps -a: %q, want %s Exited (0)", ps, name)
	}
	u.st.must(t, "rm", name)
	if ps := u.st.must(t, "ps", "-a", "--filter", "name="+name, "-q").stdout; ps != "" {
		t.Errorf("after rm: ps -a still lists %q", ps)
	}
}

// -it through a terminal, as TestTerminal.
func i20e2eTerminal(t *testing.T, u *i20e2eUser) {
	out, code := runOnPty(t, u.st, "echo got-$((6*7))\nexit 5\n", "run", "--rm", "-it", i20e2eBusybox(t, u), "sh")
	if code != 5 || !strings.Contains(out, "got-42") {
		t.Errorf("exit %d, output %q; want got-42 and exit 5", code, out)
	}
	if !strings.Contains(out, "\r\n") {
		t.Errorf("output %q not through a terminal (no \\r\\n)", out)
	}
}

// i20e2eWaitLogs polls logs until they hold want (the container writes
// them meanwhile).
func i20e2eWaitLogs(t *testing.T, u *i20e2eUser, id, want string) {
	t.Helper()
	var r result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if r = u.st.skiff(nil, "logs", id); strings.Contains(r.stdout, want) {
			return
		}
	}
	t.Fatalf("logs of %s never held %q; last: %v", short(id), want, r)
}

// run -d, logs, exec (its flags and exit status), ps, stop and rm.
func i20e2eDetached(t *testing.T, u *i20e2eUser) {
	name := uniqueName(t)
	id := u.st.runD(t, "--name", name, i20e2eBusybox(t, u), "sh", "-c", "trap 'exit 0' TERM; echo hello-log; while :; do sleep 1; done")
	i20e2eWaitLogs(t, u, id, "hello-log\n")
	if ps := u.st.must(t, "ps", "--format", "{{.Names}}").stdout; !strings.Contains(ps, name+"\n") {
		t.Errorf("ps: %q, want %s running", ps, name)
	}
	for _, c := range []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stdout string
	}{
		{"exec", "", []string{id, "echo", "exec-ok"}, 0, "exec-ok\n"},
		{"exec sees the container", "", []string{name, "cat", "/proc/1/comm"}, 0, "sh\n"},
		{"exit status", "", []string{id, "sh", "-c", "exit 3"}, 3, ""},
		{"-i", "from-stdin\n", []string{"-i", id, "cat"}, 0, "from-stdin\n"},
		{"-u", "", []string{"-u", "1000:1000", id, "sh", "-c", "id -u; id -g"}, 0, "1000\n1000\n"},
		{"-u name", "", []string{"-u", "app", id, "id", "-un"}, 0, "app\n"},
		{"-e -w", "", []string{"-e", "X=y", "-w", "/tmp", id, "sh", "-c", "echo $X; pwd"}, 0, "y\n/tmp\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := u.st.skiff(strings.NewReader(c.stdin), append([]string{"exec"}, c.args...)...)
			if r.code != c.code || r.stdout != c.stdout {
				t.Errorf("want exit %d and stdout %q; %v", c.code, c.stdout, r)
			}
		})
	}
	t.Run("127", func(t *testing.T) { runError(t, u.st.skiff(nil, "exec", id, "no-such-command"), 127) })
	if r := u.st.skiff(nil, "stop", name); r.code != 0 || r.stdout != name+"\n" {
		t.Fatalf("stop: %v", r)
	}
	if st := u.st.inspect(t, id).State; st.Status != "exited" || st.ExitCode != 0 {
		t.Errorf("after stop: %s exit %d, want exited 0 (the trap)", st.Status, st.ExitCode)
	}
	u.st.must(t, "rm", id)
	if r := u.st.skiff(nil, "inspect", id); r.code == 0 {
		t.Errorf("inspect after rm found the container: %v", r)
	}
}

// rm -f of a running container: gone, and its process with it.
func i20e2eRmForce(t *testing.T, u *i20e2eUser) {
	id := u.st.runD(t, i20e2eBusybox(t, u), "sleep", "300")
	pid := u.st.inspect(t, id).State.Pid
	if pid <= 0 {
		t.Fatalf("inspect: pid %d", pid)
	}
	u.st.must(t, "rm", "-f", id)
	if r := u.st.skiff(nil, "inspect", id); r.code == 0 {
		t.Errorf("inspect after rm -f found the container: %v", r)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the container's process %d still runs 10 s after rm -f", pid)
		}
	}
}
