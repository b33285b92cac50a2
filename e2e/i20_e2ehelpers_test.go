package e2e

// The harness of the issue-20 rootless tests: a user made for the test
// (useradd, with or without /etc/subuid and /etc/subgid lines), skiff
// copied where that user can run it, and a store whose commands run as
// the user through runuser with no login session, so XDG_RUNTIME_DIR is
// unset and skiff falls back to /tmp/skiff-run-UID, as under su. When the
// test ends everything goes: the user's containers through skiff itself,
// then any process still running as one of the user's ids (by PID: the
// user is new, so every such process is the test's), the user with its
// home and its subordinate id lines, the temp dirs.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// i20e2eSubCount is the size of the test user's range: useradd's usual
// one, every id an image commonly uses (0-65535 inside).
const i20e2eSubCount = 65536

// i20e2eUser is a user the test made, and skiff as that user.
type i20e2eUser struct {
	name     string
	uid, gid int
	home     string
	subStart int    // first subordinate uid and gid (one range for both); 0: none
	bin      string // skiff, copied where the user can run it
	binDir   string
	st       *store // skiff as this user on its default paths
	// enter, when set, is a command line that runs the rest of its
	// arguments (runuser ...) elsewhere: issue 21's tests put the user's
	// commands into another network and mount namespace with it.
	enter []string
}

// i20e2eNewUser makes a user with a home and, when ranges, a free range
// of i20e2eSubCount subordinate uids and gids; the test's end removes it
// and all it left.
func i20e2eNewUser(t *testing.T, ranges bool) *i20e2eUser {
	t.Helper()
	requireEnv(t)
	for _, tool := range []string{"useradd", "usermod", "userdel", "runuser", "newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the rootless tests need passwd, util-linux and uidmap", tool)
		}
	}
	u := &i20e2eUser{name: fmt.Sprintf("skiffrl%06d", rand.IntN(1_000_000))}
	// No subordinate ids of useradd's choosing: the test adds its own.
	i20e2eRun(t, "useradd", "-m", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name)
	t.Cleanup(func() { u.remove(t) })
	pw, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(pw.Uid)
	u.gid, _ = strconv.Atoi(pw.Gid)
	u.home = pw.HomeDir
	// A runtime dir of the uid's is an earlier user's, since deleted (the
	// uid is this new user's alone now): the test wants skiff to make it.
	if err := os.RemoveAll(u.runDir()); err != nil {
		t.Fatal(err)
	}
	if ranges {
		u.subStart = i20e2eFreeRange(t)
		r := fmt.Sprintf("%d-%d", u.subStart, u.subStart+i20e2eSubCount-1)
		i20e2eRun(t, "usermod", "--add-subuids", r, "--add-subgids", r, u.name)
	}
	u.copyBinary(t)
	u.st = &store{
		root:    filepath.Join(u.home, ".local", "share", "skiff"),
		runroot: filepath.Join(u.runDir(), "skiff"),
		config:  filepath.Join(u.home, ".config", "skiff", "config.json"),
		user:    u,
	}
	// The config every test store starts from (containers' name server
	// the fake upstream's), at the user's default config path.
	if err := writeTestConfig(u.st.config); err != nil {
		t.Fatal(err)
	}
	i20e2eRun(t, "chown", "-R", u.name+":", filepath.Join(u.home, ".config"))
	return u
}

// copyBinary puts skiff in a 0755 dir of its own: go test's work dir is
// root's alone.
func (u *i20e2eUser) copyBinary(t *testing.T) {
	t.Helper()
	dir, err := os.MkdirTemp("", "skiff-i20-bin-")
	if err != nil {
		t.Fatal(err)
	}
	u.binDir = dir
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(skiffBin)
	if err != nil {
		t.Fatal(err)
	}
	u.bin = filepath.Join(dir, "skiff")
	if err := os.WriteFile(u.bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// cmd is skiff as the user through runuser, with only PATH and LC_ALL
// passed: runuser sets HOME, USER and LOGNAME, and no session gives an
// XDG_RUNTIME_DIR. Its cwd is the user's home (root's may be closed).
func (u *i20e2eUser) cmd(ctx context.Context, args ...string) *exec.Cmd {
	return u.command(ctx, u.bin, args...)
}

// command is any program as the user, as cmd runs skiff.
func (u *i20e2eUser) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	argv := append([]string{"runuser", "-u", u.name, "--", prog}, args...)
	if len(u.enter) > 0 {
		argv = append(append([]string(nil), u.enter...), argv...)
	}
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	c.Dir = u.home
	c.WaitDelay = 5 * time.Second
	return c
}

// cmdOut runs a program as the user (30 s at most): its output, stdout
// and stderr together.
func (u *i20e2eUser) cmdOut(prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := u.command(ctx, prog, args...).CombinedOutput()
	return string(out), err
}

// runDir is skiff's fallback runtime dir for the user: /tmp/skiff-run-UID.
func (u *i20e2eUser) runDir() string {
	return filepath.Join("/tmp", fmt.Sprintf("skiff-run-%d", u.uid))
}

// hostUID and hostGID are the host ids a container's id n lands on:
// 0 is the user's own, 1 on are its range's from the start (podman's
// layout).
func (u *i20e2eUser) hostUID(n int) int {
	if n == 0 {
		return u.uid
	}
	return u.subStart + n - 1
}

func (u *i20e2eUser) hostGID(n int) int {
	if n == 0 {
		return u.gid
	}
	return u.subStart + n - 1
}

// owns says whether a host uid is one of the user's: its own or its range's.
func (u *i20e2eUser) owns(id int) bool {
	return id == u.uid || (u.subStart != 0 && id >= u.subStart && id < u.subStart+i20e2eSubCount)
}

// dir makes a new directory of the user's (0755) in its home, for bind
// sources, cp targets and build contexts; userdel -r removes it.
func (u *i20e2eUser) dir(t *testing.T, prefix string) string {
	t.Helper()
	d, err := os.MkdirTemp(u.home, prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	return d
}

// writeFile writes a file of the user's.
func (u *i20e2eUser) writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
}

// i20e2eFreeRange is the start of i20e2eSubCount ids that no line of
// /etc/subuid or /etc/subgid gives anyone: a random start far above
// useradd's (100000 on) and below the userns unit test's (3,000,000,000),
// moved past every line it meets.
func i20e2eFreeRange(t *testing.T) int {
	t.Helper()
	var taken [][2]int // [start, end)
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			parts := strings.Split(strings.TrimSpace(l), ":")
			if len(parts) != 3 {
				continue
			}
			start, err1 := strconv.Atoi(parts[1])
			count, err2 := strconv.Atoi(parts[2])
			if err1 == nil && err2 == nil {
				taken = append(taken, [2]int{start, start + count})
			}
		}
	}
	start := 1_000_000_000 + rand.IntN(10_000)*i20e2eSubCount
	for moved := true; moved; {
		moved = false
		for _, r := range taken {
			if start < r[1] && r[0] < start+i20e2eSubCount {
				start = (r[1] + i20e2eSubCount - 1) / i20e2eSubCount * i20e2eSubCount
				moved = true
			}
		}
	}
	return start
}

func i20e2eRun(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove undoes i20e2eNewUser. A process still running as the user after
// rm -f of all its containers is an error (skiff left it), killed by PID.
func (u *i20e2eUser) remove(t *testing.T) {
	if u.st != nil {
		if ids := strings.Fields(u.st.skiff(nil, "ps", "-aq", "--no-trunc").stdout); len(ids) > 0 {
			if r := u.st.skiff(nil, append([]string{"rm", "-f"}, ids...)...); r.code != 0 {
				t.Errorf("rm -f of the rootless containers %v: %v", ids, r)
			}
		}
	}
	if left := u.procs(); len(left) > 0 {
		t.Errorf("still running as %s after rm -f of its containers:\n%s", u.name, strings.Join(left, "\n"))
		u.killAll()
	}
	if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), u.home) || strings.Contains(string(mi), u.runDir()) {
		t.Errorf("a mount of the rootless store is in the harness's mount namespace:\n%s", mi)
	}
	if u.subStart != 0 {
		r := fmt.Sprintf("%d-%d", u.subStart, u.subStart+i20e2eSubCount-1)
		if out, err := exec.Command("usermod", "--del-subuids", r, "--del-subgids", r, u.name).CombinedOutput(); err != nil {
			t.Errorf("usermod --del-subuids %s: %v: %s", r, err, out)
		}
	}
	// Its runtime dir before the user: once the uid is free, another
	// user made meanwhile may get it, and that dir's name.
	os.RemoveAll(u.runDir())
	if out, err := exec.Command("userdel", "-r", u.name).CombinedOutput(); err != nil {
		t.Errorf("userdel -r %s: %v: %s", u.name, err, out)
	}
	for _, d := range []string{u.binDir, u.home} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	for _, f := range []string{"/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"} {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), u.name+":") {
			t.Errorf("%s still names %s after userdel", f, u.name)
		}
	}
}

// procs lists the processes running as one of the user's uids (real,
// effective, saved or fs), zombies aside, each as "PID (NAME, STATE,
// PARENT, UIDS) CMDLINE".
func (u *i20e2eUser) procs() []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		fields := map[string]string{}
		for _, l := range strings.Split(string(status), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				fields[k] = strings.TrimSpace(v)
			}
		}
		if strings.HasPrefix(fields["State"], "Z") {
			continue // exited, and left to an init that reaps late (this machine's pid 1 does): nothing runs
		}
		for _, f := range strings.Fields(fields["Uid"]) {
			if id, _ := strconv.Atoi(f); u.owns(id) {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				out = append(out, fmt.Sprintf("%d (%s, %s, parent %s, uids %s) %s", pid, fields["Name"], fields["State"], fields["PPid"],
					fields["Uid"], strings.ReplaceAll(string(cmdline), "\x00", " ")))
				break
			}
		}
	}
	return out
}

// killAll SIGKILLs the user's processes by PID and waits up to 10 s for
// them to go, so that userdel finds none.
func (u *i20e2eUser) killAll() {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left := u.procs()
		if len(left) == 0 {
			return
		}
		for _, p := range left {
			pid, _ := strconv.Atoi(strings.Fields(p)[0])
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// i20e2eOwned is one entry of the owners image: a file or dir and its
// owner in the tar.
type i20e2eOwned struct {
	path     string
	dir      bool
	uid, gid int
}

// i20e2eOwners are the owners image's entries: root's, a common app
// user's, www-data's (33), uid and gid from different ids, and the top
// of the usual range (nobody).
var i20e2eOwners = []i20e2eOwned{
	{"owners", true, 0, 0},
	{"owners/root", false, 0, 0},
	{"owners/app", false, 1000, 1000},
	{"owners/www", false, 33, 33},
	{"owners/appdir", true, 1000, 1000},
	{"owners/appdir/file", false, 1000, 1000},
	{"owners/mixed", false, 1000, 33},
	{"owners/nobody", false, 65534, 65534},
}

// i20e2eImageSet is the rootless tests' own images in the test registry.
type i20e2eImageSet struct {
	owners   string // busybox plus a layer of i20e2eOwners
	rootOnly string // busybox with every file root's: a single-id mapping can take it
}

var i20e2eImagesOnce = sync.OnceValues(i20e2ePushImages)

func i20e2eImages(t *testing.T) i20e2eImageSet {
	t.Helper()
	requireEnv(t)
	set, err := i20e2eImagesOnce()
	if err != nil {
		t.Fatalf("the rootless tests' images: %v", err)
	}
	return set
}

func i20e2ePushImages() (i20e2eImageSet, error) {
	var set i20e2eImageSet
	bb, err := testenv.BusyboxImage()
	if err != nil {
		return set, err
	}
	var files []testenv.File
	for _, o := range i20e2eOwners {
		f := testenv.Reg(o.path, o.path+"\n")
		if o.dir {
			f = testenv.Dir(o.path)
		}
		f.UID, f.GID = o.uid, o.gid
		files = append(files, f)
	}
	if set.owners, err = pushOnBusybox(bb, reg.Addr+"/i20/owners:latest", files); err != nil {
		return set, err
	}
	bbFiles, err := testenv.BusyboxFiles()
	if err != nil {
		return set, err
	}
	for i := range bbFiles {
		bbFiles[i].UID, bbFiles[i].GID = 0, 0
	}
	l, err := testenv.LayerFromFiles(bbFiles)
	if err != nil {
		return set, err
	}
	cf, _ := bb.ConfigFile()
	img, err := testenv.ImageFromLayers(empty.Image, cf.Config, []v1.Layer{l}...)
	if err != nil {
		return set, err
	}
	set.rootOnly = reg.Addr + "/i20/rootonly:latest"
	_, err = testenv.Push(img, set.rootOnly)
	return set, err
}

// i20e2eWarnings are the stderr lines starting "WARNING:".
func i20e2eWarnings(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "WARNING:") {
			out = append(out, l)
		}
	}
	return out
}

// i20e2eStat is "UID:GID" of a host path, followed or not.
func i20e2eStat(t *testing.T, path string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}
