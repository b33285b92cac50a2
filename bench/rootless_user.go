package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Issue 20's measurement: `run --rm --network none busybox true` by an
// unprivileged user beside the same run as root, and beside podman's
// rootless run as the same user, alternating on one filesystem, as ratios;
// then where the rootless run's extra goes (its -D marks beside root's,
// and newuidmap + newgidmap timed on their own).
//
// The user is the bench's own: made here (useradd, no home of its own
// making, its subordinate ranges added with usermod in a range nobody else
// has), removed after with its lines, files and processes. Every command
// it runs is forked by the bench itself and drops to the user between fork
// and exec (setgroups, setgid, setuid: Go's SysProcAttr.Credential), so no
// runuser or su is in the timed path; the spawn floor line (/bin/true as
// root beside /bin/true as the user) shows what that drop costs.

const (
	rootlessName    = "skiffbench"
	rootlessComment = "skiff bench rootless user, throwaway, removed after" // no colon: a passwd field
	// rootlessSubBase is where the search for a free range starts: far
	// above useradd's own (login.defs SUB_UID_MAX 600100000 here) and the
	// userns tests' (3000000000 on), below 2^31 for tools that hold ids in
	// an int32.
	rootlessSubBase  = 1_500_000_000
	rootlessSubCount = 65536
	rootlessPath     = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// rootlessUser is the throwaway user the rootless lines run as.
type rootlessUser struct {
	name       string
	uid, gid   uint32
	sub        uint32 // first subordinate uid and gid (the same number in both files)
	home       string // the user's, on the same filesystem as the rootful store
	runtimeDir string // /run/user/UID, as a login session would have it
	skiff      string // a copy of the measured binary the user can execute
	created    bool   // useradd succeeded: remove must userdel
}

// newRootlessUser makes the user, its ranges, its home with a copy of
// skiff and podman's rootless config, and its runtime dir. On error what
// was made is removed again.
func (e *env) newRootlessUser() (*rootlessUser, error) {
	for _, t := range []string{"useradd", "usermod", "userdel", "newuidmap", "newgidmap"} {
		if lookPath(t) == "" {
			return nil, fmt.Errorf("%s: %w (useradd etc.: Debian's passwd; newuidmap: uidmap, which ../shared/peers/setup-peers.sh installs)", t, errNotInstalled)
		}
	}
	if err := removeStaleRootlessUser(); err != nil {
		return nil, err
	}
	sub, err := freeSubRange([]string{"/etc/subuid", "/etc/subgid"}, rootlessSubBase, rootlessSubCount)
	if err != nil {
		return nil, err
	}
	u := &rootlessUser{name: rootlessName, sub: sub}
	if u.home, err = os.MkdirTemp(e.o.rootDir, "skiff-bench-rootless-"); err != nil {
		return nil, fmt.Errorf("rootless user's home: %w", err)
	}
	if err := u.create(e.skiff); err != nil {
		u.remove()
		return nil, err
	}
	return u, nil
}

func (u *rootlessUser) create(skiff string) error {
	if _, err := output(exec.Command("useradd", "-M", "-N", "-l", "-s", "/usr/sbin/nologin", "-d", u.home,
		"-c", rootlessComment, "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name)); err != nil {
		return err
	}
	u.created = true
	r := fmt.Sprintf("%d-%d", u.sub, u.sub+rootlessSubCount-1)
	if _, err := output(exec.Command("usermod", "--add-subuids", r, "--add-subgids", r, u.name)); err != nil {
		return err
	}
	pw, err := user.Lookup(u.name)
	if err != nil {
		return err
	}
	uid, _ := strconv.ParseUint(pw.Uid, 10, 32)
	gid, _ := strconv.ParseUint(pw.Gid, 10, 32)
	u.uid, u.gid = uint32(uid), uint32(gid)
	u.runtimeDir = fmt.Sprintf("/run/user/%d", u.uid)
	if exists(u.runtimeDir) {
		u.runtimeDir = "" // not ours: remove must leave it
		return fmt.Errorf("/run/user/%d exists already: another user had uid %d; remove it", uid, uid)
	}
	if err := os.MkdirAll("/run/user", 0o755); err != nil {
		return err
	}
	bin := filepath.Join(u.home, "bin")
	conf := filepath.Join(u.home, ".config", "containers")
	for _, d := range []string{u.runtimeDir, bin, conf} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	u.skiff = filepath.Join(bin, "skiff")
	if err := copyFile(skiff, u.skiff, 0o755); err != nil {
		return fmt.Errorf("copy skiff for the rootless user: %w", err)
	}
	// The same as setup-peers.sh gives rless: no systemd here (cgroupfs,
	// events to a file) and runc (crun refuses this hybrid cgroup host).
	podmanConf := "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"\n"
	if err := os.WriteFile(filepath.Join(conf, "containers.conf"), []byte(podmanConf), 0o644); err != nil {
		return err
	}
	return u.chownAll(u.home, u.runtimeDir)
}

// chownAll gives the user every file under dirs.
func (u *rootlessUser) chownAll(dirs ...string) error {
	for _, d := range dirs {
		err := filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, int(u.uid), int(u.gid))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := writeTar(dst, in); err != nil { // a plain copy, whatever its name says
		return err
	}
	return os.Chmod(dst, mode)
}

// cmd is path run as the user, with the environment a login session would
// give it (no logind here makes none: HOME, XDG_RUNTIME_DIR by hand).
func (u *rootlessUser) cmd(path string, args ...string) *exec.Cmd {
	c := exec.Command(path, args...)
	c.Dir = u.home
	c.Env = []string{"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "PATH=" + rootlessPath,
		"XDG_RUNTIME_DIR=" + u.runtimeDir, "LANG=C.UTF-8"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: []uint32{}}}
	return c
}

// remove undoes newRootlessUser: the user's processes (its podman's pause
// process, anything a failed run left; all started by this bench, as the
// user is), its ranges, the user, its files.
func (u *rootlessUser) remove() {
	if u.created {
		u.killProcesses()
		r := fmt.Sprintf("%d-%d", u.sub, u.sub+rootlessSubCount-1)
		if _, err := output(exec.Command("usermod", "--del-subuids", r, "--del-subgids", r, u.name)); err != nil {
			fmt.Printf("note: rootless user %s: %v\n", u.name, oneLine(err.Error()))
		}
		if _, err := output(exec.Command("userdel", u.name)); err != nil {
			fmt.Printf("note: rootless user %s not removed: %v\n", u.name, oneLine(err.Error()))
		}
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			if hasSubLine(f, u.name) {
				fmt.Printf("note: %s still has a line for %s after userdel\n", f, u.name)
			}
		}
	}
	for _, d := range []string{u.home, u.runtimeDir} {
		if d != "" {
			unmountUnder(d)
			os.RemoveAll(d)
		}
	}
}

// killProcesses kills, by pid, every process whose real uid is the user's
// or in its subordinate range: the user exists only for this bench, so
// each was started by it (podman's pause process lives on by design).
func (u *rootlessUser) killProcesses() {
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := u.processes()
		if len(pids) == 0 || time.Now().After(deadline) {
			if len(pids) > 0 {
				fmt.Printf("note: rootless user %s: processes %v survived SIGKILL\n", u.name, pids)
			}
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (u *rootlessUser) processes() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		uid, ok := realUID(pid)
		inRange := u.sub != 0 && uid >= u.sub && uid-u.sub < rootlessSubCount
		if ok && uid != 0 && (uid == u.uid || inRange) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// realUID is the first field of /proc/<pid>/status's Uid line.
func realUID(pid int) (uint32, bool) {
	f := strings.Fields(procStatus(pid, "Uid"))
	if len(f) == 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[0], 10, 32)
	return uint32(v), err == nil
}

// removeStaleRootlessUser removes the user a bench killed before its
// clean-up left behind, known by its comment; a user of that name with
// another comment is someone else's, and the bench refuses to go on.
func removeStaleRootlessUser() error {
	pw, err := user.Lookup(rootlessName)
	if err != nil {
		return nil // none: the usual case
	}
	if gecos := passwdComment(rootlessName); gecos != rootlessComment {
		return fmt.Errorf("a user %s exists and is not the bench's (comment %q): remove or rename it", rootlessName, gecos)
	}
	uid, _ := strconv.ParseUint(pw.Uid, 10, 32)
	stale := &rootlessUser{name: rootlessName, uid: uint32(uid), created: true, home: pw.HomeDir}
	if s, ok := subStart("/etc/subuid", rootlessName); ok {
		stale.sub = s
	}
	if exists(fmt.Sprintf("/run/user/%d", uid)) {
		stale.runtimeDir = fmt.Sprintf("/run/user/%d", uid)
	}
	fmt.Printf("note: removing the rootless user a killed bench left behind (%s, uid %d, home %s)\n", rootlessName, uid, pw.HomeDir)
	stale.remove()
	return nil
}

func passwdComment(name string) string {
	for _, f := range fileLines("/etc/passwd") {
		if p := strings.Split(f, ":"); len(p) >= 5 && p[0] == name {
			return p[4]
		}
	}
	return ""
}

// subRange is one /etc/subuid or /etc/subgid line.
type subRange struct {
	owner        string
	start, count uint64
}

func readSubRanges(file string) []subRange {
	var out []subRange
	for _, l := range fileLines(file) {
		p := strings.Split(l, ":")
		if len(p) != 3 {
			continue
		}
		s, err1 := strconv.ParseUint(p[1], 10, 32)
		c, err2 := strconv.ParseUint(p[2], 10, 32)
		if err1 == nil && err2 == nil {
			out = append(out, subRange{p[0], s, c})
		}
	}
	return out
}

func hasSubLine(file, name string) bool {
	_, ok := subStart(file, name)
	return ok
}

func subStart(file, name string) (uint32, bool) {
	for _, r := range readSubRanges(file) {
		if r.owner == name {
			return uint32(r.start), true
		}
	}
	return 0, false
}

// freeSubRange is the first start at or above base, in steps of count,
// where count ids overlap no line of any of files.
func freeSubRange(files []string, base, count uint64) (uint32, error) {
	var used []subRange
	for _, f := range files {
		used = append(used, readSubRanges(f)...)
	}
	for start := base; start+count <= 1<<31; start += count {
		free := true
		for _, r := range used {
			if start < r.start+r.count && r.start < start+count {
				free = false
				break
			}
		}
		if free {
			return uint32(start), nil
		}
	}
	return 0, fmt.Errorf("no free range of %d subordinate ids above %d in %s", count, base, strings.Join(files, ", "))
}

func fileLines(file string) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
