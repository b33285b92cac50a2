package cgroup

// This package writes cgroupfs directly instead of using containerd/cgroups:
// on this kind of hybrid host the library's v1 code wants every subsystem it
// knows to be mounted, its v2 manager assumes the unified mount is
// /sys/fs/cgroup, and all skiff needs is mkdir, one write of a pid and rmdir.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Parent is the directory under each hierarchy's root that holds skiff's
// containers.
const Parent = "skiff"

// Hierarchy is one mounted cgroup hierarchy, at its root.
type Hierarchy struct {
	Mount  string // mount point, e.g. /sys/fs/cgroup/memory
	V2     bool
	Cpuset bool // v1 cpuset: a child needs cpuset.cpus and cpuset.mems before tasks
	// Devices is the v1 devices controller: a container's cgroup there gets
	// docker's device allow-list.
	Devices bool
	// HostMount is where the hierarchy is mounted when Mount is a subtree
	// delegated below it, standing for its root (rootless); "": Mount.
	HostMount string
}

// Cgroup is a container's cgroup: one directory per hierarchy we could write.
type Cgroup struct {
	ID   string
	dirs []dir
}

// parentDir is where a container's cgroup lives under each hierarchy's
// root: --cgroup-parent (checked by the CLI), else skiff's own Parent.
func parentDir(parent string) string {
	if clean, err := CheckParent(parent); err == nil {
		return clean
	}
	return Parent
}

// CheckParent refuses a --cgroup-parent that would leave the hierarchies'
// roots or name nothing; the parent is relative to each root (docker's
// cgroupfs driver), a leading "/" or not.
func CheckParent(parent string) (string, error) {
	clean := filepath.Clean("/" + parent)
	if parent == "" || clean == "/" || strings.Contains(parent, "..") || strings.ContainsAny(parent, "\n") {
		return "", fmt.Errorf("invalid cgroup parent %q: a path below the cgroup hierarchies' roots", parent)
	}
	return strings.TrimPrefix(clean, "/"), nil
}

type dir struct {
	path string
	h    Hierarchy
}

// New creates /skiff/<id> at the root of every cgroup hierarchy mounted in
// this mount namespace. Hierarchies we may not write (rootless, read-only
// mounts) are skipped: limits are not supported yet, so a missing cgroup
// costs nothing but accounting.
func New(id string) (*Cgroup, error) {
	return NewUnder("", id)
}

// NewUnder is New with the container's --cgroup-parent ("": skiff's).
func NewUnder(parent, id string) (*Cgroup, error) {
	hs, err := Hierarchies()
	if err != nil {
		return nil, err
	}
	return newAt(hs, parent, id)
}

// NewAt is New over an explicit list of hierarchies (tests use fake trees).
func NewAt(hs []Hierarchy, id string) (*Cgroup, error) {
	return newAt(hs, "", id)
}

func newAt(hs []Hierarchy, parent, id string) (*Cgroup, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	cg := &Cgroup{ID: id}
	for _, h := range hs {
		p, err := create(h, parentDir(parent), id)
		if isPermission(err) {
			continue
		}
		if err != nil {
			cg.Delete()
			return nil, fmt.Errorf("cgroup %s: %w", p, err)
		}
		cg.dirs = append(cg.dirs, dir{path: p, h: h})
	}
	return cg, nil
}

// Load names the existing cgroup of container id without creating anything,
// for removing it later (skiff rm).
func Load(id string) (*Cgroup, error) {
	return LoadUnder("", id)
}

// LoadUnder is Load of a container with --cgroup-parent parent ("": skiff's).
func LoadUnder(parent, id string) (*Cgroup, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	hs, err := Hierarchies()
	if err != nil {
		return nil, err
	}
	return loadAt(hs, parent, id), nil
}

// loadAt names the existing directories of container id over hs.
func loadAt(hs []Hierarchy, parent, id string) *Cgroup {
	cg := &Cgroup{ID: id}
	for _, h := range hs {
		p := filepath.Join(h.Mount, parentDir(parent), id)
		if _, err := os.Stat(p); err == nil {
			cg.dirs = append(cg.dirs, dir{path: p, h: h})
		}
	}
	return cg
}

func checkID(id string) error {
	if id == "" || strings.ContainsAny(id, "/.") {
		return fmt.Errorf("cgroup: invalid container id %q", id)
	}
	return nil
}

func create(h Hierarchy, parentRel, id string) (string, error) {
	parent := h.Mount
	// Each level of the parent (one for skiff's) made as the root's child.
	for _, name := range strings.Split(parentRel, "/") {
		above := parent
		parent = filepath.Join(parent, name)
		if err := mkdir(parent); err != nil {
			return parent, err
		}
		switch {
		case h.V2:
			enableControllers(above, parent)
		case h.Cpuset:
			if err := copyCpuset(above, parent); err != nil {
				return parent, err
			}
		}
	}
	leaf := filepath.Join(parent, id)
	if err := mkdir(leaf); err != nil {
		return leaf, err
	}
	if h.Cpuset && !h.V2 {
		if err := copyCpuset(parent, leaf); err != nil {
			return leaf, err
		}
	}
	if h.Devices && !h.V2 {
		if err := restrictDevices(leaf); err != nil {
			return leaf, err
		}
	}
	return leaf, nil
}

// allowedDevices is docker's default device allow-list. Without it a
// container's root, which has CAP_MKNOD as in docker, could mknod a node for
// the host's disk (or find one in an image layer) and read or write it.
var allowedDevices = []string{
	"c *:* m", "b *:* m", // mknod of anything, so images can carry nodes; no access
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", // null zero full random urandom
	"c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm", // tty ptmx pts/*
	"c 10:200 rwm", // net/tun
}

// restrictDevices denies every device in a new v1 devices cgroup, then
// allows docker's list: what the init is born under. Deny first: a new
// cgroup inherits its parent's "a *:* rwm". The container's own rules
// (--device, --device-cgroup-rule, --privileged) follow before its process
// runs (SetDevices, from the start's pre-exec hook).
func restrictDevices(leaf string) error {
	if err := writeFile(filepath.Join(leaf, "devices.deny"), "a"); err != nil {
		return err
	}
	return writeDeviceRules(leaf, DefaultDevices())
}

// CanRestrictDevices reports whether a container's cgroup will hold it to
// its device rules: a v1 devices hierarchy (New writes docker's list) or a
// cgroup2 one (SetDevices attaches an eBPF program) is mounted and we may
// write it.
func CanRestrictDevices() bool {
	hs, err := Hierarchies()
	if err != nil {
		return false
	}
	for _, h := range hs {
		if (h.V2 || h.Devices) && unix.Access(h.Mount, unix.W_OK) == nil {
			return true
		}
	}
	return false
}

// DevicesRestricted reports whether the container's device access is
// limited to its rules: true where a v1 devices cgroup (docker's list from
// its creation) or a cgroup2 directory (the device program SetDevices
// attaches) was made.
func (c *Cgroup) DevicesRestricted() bool {
	for _, d := range c.dirs {
		if d.h.Devices || d.h.V2 {
			return true
		}
	}
	return false
}

func mkdir(p string) error {
	err := os.Mkdir(p, 0o755)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// enableControllers delegates to /skiff's children every controller the
// root delegates to /skiff, so a container's cgroup gets them all. We never
// change the root's own subtree_control: that is the host's choice.
func enableControllers(root, parent string) {
	b, err := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	if err != nil {
		return
	}
	enable(parent, strings.Fields(string(b)))
}

// enable turns ctrls on in dir's subtree_control, for dir's children; best
// effort, as what the kernel refuses only costs those limits.
func enable(dir string, ctrls []string) {
	if len(ctrls) == 0 {
		return
	}
	all := "+" + strings.Join(ctrls, " +")
	if writeFile(filepath.Join(dir, "cgroup.subtree_control"), all) == nil {
		return
	}
	// One controller the kernel refuses here fails the whole write: try each.
	for _, c := range ctrls {
		writeFile(filepath.Join(dir, "cgroup.subtree_control"), "+"+c)
	}
}

// copyCpuset gives a new v1 cpuset cgroup its parent's cpus and mems: a
// cpuset cgroup with empty ones refuses tasks.
func copyCpuset(from, to string) error {
	for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
		cur, _ := os.ReadFile(filepath.Join(to, f))
		if strings.TrimSpace(string(cur)) != "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(to, f), strings.TrimSpace(string(b))); err != nil {
			return err
		}
	}
	return nil
}

// writeFile writes without O_TRUNC (cgroupfs files are not truncatable);
// O_CREATE only matters for fake trees in tests.
func writeFile(p, s string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// JoinThread puts the calling OS thread into c in every v1 hierarchy, so
// that a process it then forks is born in c, and returns a descriptor of
// c's cgroup2 directory, for clone3's CLONE_INTO_CGROUP
// (syscall.SysProcAttr.UseCgroupFD), or -1 when c has none; the caller
// closes it. Run it on a thread that is thrown away afterwards
// (ns.OnDiscardedThread): the thread stays in c.
//
// Why not fork, then Add: moving a process takes the kernel's global
// threadgroup lock, whose first writer waits for an RCU grace period
// (5-20 ms on this kind of VM, the largest single cost of a run). A thread
// that moves itself, by writing 0 to tasks, skips that lock (Linux 6.x; an
// older kernel just waits), and a clone into a cgroup moves nothing.
func (c *Cgroup) JoinThread() (v2fd int, err error) {
	v2fd = -1
	for _, d := range c.dirs {
		if d.h.V2 {
			if v2fd >= 0 {
				continue // one unified hierarchy
			}
			if v2fd, err = unix.Open(d.path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err != nil {
				return -1, fmt.Errorf("cgroup %s: %w", d.path, os.NewSyscallError("open", err))
			}
			continue
		}
		if err := writeFile(filepath.Join(d.path, "tasks"), "0"); err != nil {
			if v2fd >= 0 {
				unix.Close(v2fd)
			}
			return -1, fmt.Errorf("cgroup %s: joining: %w", d.path, err)
		}
	}
	return v2fd, nil
}

// Add moves pid (and, on v1, only that thread group) into every hierarchy.
func (c *Cgroup) Add(pid int) error {
	for _, d := range c.dirs {
		if err := writeFile(filepath.Join(d.path, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("cgroup %s: adding pid %d: %w", d.path, pid, err)
		}
	}
	return nil
}

// Paths are the directories of the container's cgroup, one per hierarchy.
func (c *Cgroup) Paths() []string {
	out := make([]string, len(c.dirs))
	for i, d := range c.dirs {
		out[i] = d.path
	}
	return out
}

// Delete removes the container's cgroup directories. Processes of a pid
// namespace whose init died are killed asynchronously, so a busy cgroup is
// retried for a short while before giving up.
func (c *Cgroup) Delete() error {
	var errs []error
	for _, d := range c.dirs {
		if err := rmdir(d.path); err != nil {
			errs = append(errs, fmt.Errorf("cgroup %s: %w (remove it with rmdir once its processes are gone)", d.path, err))
		}
	}
	c.dirs = nil
	return errors.Join(errs...)
}

func rmdir(p string) error {
	var err error
	for i := 0; i < 100; i++ {
		err = os.Remove(p)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, syscallEBUSY) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

func isPermission(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscallEROFS)
}

// Hierarchies lists the cgroup hierarchies mounted at their root in this
// mount namespace, from /proc/self/mountinfo.
func Hierarchies() ([]Hierarchy, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	defer f.Close()
	return parseMountinfo(f)
}

func parseMountinfo(f io.Reader) ([]Hierarchy, error) {
	var hs []Hierarchy
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		h, ok := parseMountLine(sc.Text())
		if ok && !seen[h.Mount] {
			seen[h.Mount] = true
			hs = append(hs, h)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroup: reading mountinfo: %w", err)
	}
	return hs, nil
}

// parseMountLine reads one mountinfo line:
// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
func parseMountLine(line string) (Hierarchy, bool) {
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Hierarchy{}, false
	}
	a, b := strings.Fields(pre), strings.Fields(post)
	if len(a) < 5 || len(b) < 3 {
		return Hierarchy{}, false
	}
	// A mount whose root is not "/" is a sub-cgroup bind-mounted in (a
	// container's view): creating there would be relative to someone's cgroup.
	if a[3] != "/" {
		return Hierarchy{}, false
	}
	h := Hierarchy{Mount: unescape(a[4])}
	switch b[0] {
	case "cgroup2":
		h.V2 = true
	case "cgroup":
		for _, o := range strings.Split(b[2], ",") {
			switch o {
			case "cpuset":
				h.Cpuset = true
			case "devices":
				h.Devices = true
			}
		}
	default:
		return Hierarchy{}, false
	}
	return h, true
}

// unescape undoes mountinfo's octal escapes (\040 for space and friends).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				sb.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}
