package rootfs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
)

// A rootless container's overlay (issue 20; not wired yet). Inside the
// user namespace the kernel mounts overlay only with userxattr (5.11+),
// which reads user.overlay.* where root's overlay reads trusted.overlay.*
// (trusted.* is refused there). Where the kernel refuses, fuse-overlayfs
// does the same job in user space when it is installed. RootlessOverlay
// finds out which works here, once per boot:
//
//  1. the cached answer, when the cache file is of this boot;
//  2. else probe native overlay in a scratch dir: mknod a 0/0 whiteout,
//     mark an opaque dir and an xattr whiteout, mount with userxattr
//     (detached, fsmount) and check that each hid what it must;
//  3. native when it mounted and hid everything (whiteouts as the xattr
//     form where mknod was refused), else fuse-overlayfs from PATH, else
//     an error naming the kernel requirement and the package.
//
// The probe must run where the overlay will be mounted: inside the user
// namespace, in a mount namespace it owns (fsopen needs CAP_SYS_ADMIN
// there). Elsewhere native overlay is simply found refused.

// OverlayDriver is how a rootless container's overlay is mounted.
type OverlayDriver string

const (
	// NativeOverlay is the kernel's overlay mounted with userxattr.
	NativeOverlay OverlayDriver = "overlay"
	// FuseOverlay is the fuse-overlayfs program.
	FuseOverlay OverlayDriver = "fuse-overlayfs"
)

// RootlessStorage is how rootless layers are stored and mounted here.
type RootlessStorage struct {
	Driver OverlayDriver
	// FuseOverlayfs is the program's path, with FuseOverlay.
	FuseOverlayfs string
	// XattrWhiteouts: the kernel refused mknod of a 0/0 whiteout, so
	// layers spell whiteouts in overlay's xattr form.
	XattrWhiteouts bool
}

// LayerOptions is the extraction of a layer for this storage, run inside
// the user namespace.
func (s RootlessStorage) LayerOptions() archive.ExtractOptions {
	return archive.UserNSLayerOptions(s.XattrWhiteouts)
}

// OverlayProbe asks RootlessOverlay for an answer.
type OverlayProbe struct {
	// CacheDir holds the answer of this boot (the rootless run root,
	// $XDG_RUNTIME_DIR/skiff) and the probe's scratch dir; it must be on
	// the filesystem of the store (xattrs and mknod are the filesystem's
	// to allow). Empty: probe every time, scratch under os.TempDir.
	CacheDir string
	// Force, when set, is the driver to use whatever native overlay can
	// do (FuseOverlay, so that tests exercise it).
	Force OverlayDriver
}

// overlayFacts are what the probe saw, cached per boot. An empty error
// string is success.
type overlayFacts struct {
	BootID           string `json:"bootID"`
	Kernel           string `json:"kernel"`
	MknodWhiteout    string `json:"mknodWhiteout"`
	Native           string `json:"native"`
	XattrWhiteoutErr string `json:"xattrWhiteout"`
	DevFuse          string `json:"devFuse"` // opening /dev/fuse read-write
}

const overlayCacheFile = "rootless-overlay.json"

// RootlessOverlay says how rootless overlays are mounted here; see the
// steps above.
func RootlessOverlay(p OverlayProbe) (RootlessStorage, error) {
	f, err := overlayFactsOf(p.CacheDir)
	if err != nil {
		return RootlessStorage{}, err
	}
	return f.storage(p.Force)
}

// storage decides from the facts, honouring force.
func (f overlayFacts) storage(force OverlayDriver) (RootlessStorage, error) {
	xattrWhiteouts := f.MknodWhiteout != ""
	nativeOK := f.Native == "" && (!xattrWhiteouts || f.XattrWhiteoutErr == "")
	switch force {
	case "", FuseOverlay:
	case NativeOverlay:
		if !nativeOK {
			return RootlessStorage{}, fmt.Errorf("rootless overlay: native overlay is forced but %s", f.nativeRefusal())
		}
	default:
		return RootlessStorage{}, fmt.Errorf("rootless overlay: unknown driver %q (%q or %q)", force, NativeOverlay, FuseOverlay)
	}
	if nativeOK && force != FuseOverlay {
		return RootlessStorage{Driver: NativeOverlay, XattrWhiteouts: xattrWhiteouts}, nil
	}
	prog, err := exec.LookPath(string(FuseOverlay))
	switch {
	case err != nil && force == FuseOverlay:
		return RootlessStorage{}, fmt.Errorf("rootless overlay: fuse-overlayfs is forced but not found in PATH: install the fuse-overlayfs package")
	case err != nil:
		return RootlessStorage{}, fmt.Errorf("rootless overlay: %s, and fuse-overlayfs is not found in PATH: install the fuse-overlayfs package", f.nativeRefusal())
	case xattrWhiteouts:
		// fuse-overlayfs reads 0/0 devices, not overlay's xattr form.
		return RootlessStorage{}, fmt.Errorf("rootless overlay: fuse-overlayfs needs whiteouts as 0/0 devices and the kernel refuses mknod of one: %s", f.MknodWhiteout)
	}
	// Not the cached fact: access to /dev/fuse changes without a reboot
	// (a group, an ACL), and one open is cheap.
	if err := devFuseOpens(); err != nil {
		return RootlessStorage{}, fmt.Errorf("rootless overlay: fuse-overlayfs cannot open /dev/fuse: %s", errString(err))
	}
	return RootlessStorage{Driver: FuseOverlay, FuseOverlayfs: prog}, nil
}

// nativeRefusal says why native overlay is out, with the requirement.
func (f overlayFacts) nativeRefusal() string {
	why := f.Native
	if why == "" {
		why = "mknod of a whiteout: " + f.MknodWhiteout + "; xattr whiteout: " + f.XattrWhiteoutErr
	}
	return fmt.Sprintf("kernel %s refuses overlay in the user namespace (%s): native rootless overlay needs Linux 5.11 or later (6.7 where mknod of a whiteout is refused)", f.Kernel, why)
}

// overlayFactsOf reads this boot's cached facts or probes and caches them.
func overlayFactsOf(cacheDir string) (overlayFacts, error) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return overlayFacts{}, fmt.Errorf("rootless overlay: read boot id: %w", err)
	}
	bootID := strings.TrimSpace(string(boot))
	cache := ""
	if cacheDir != "" {
		cache = filepath.Join(cacheDir, overlayCacheFile)
		var f overlayFacts
		if b, err := os.ReadFile(cache); err == nil && json.Unmarshal(b, &f) == nil && f.BootID == bootID {
			return f, nil
		}
	}
	f, err := probeOverlay(cacheDir)
	if err != nil {
		return overlayFacts{}, fmt.Errorf("rootless overlay: %w", err)
	}
	f.BootID = bootID
	if cache != "" {
		if err := writeFileAtomic(cache, f); err != nil {
			return overlayFacts{}, fmt.Errorf("rootless overlay: cache: %w", err)
		}
	}
	return f, nil
}

func writeFileAtomic(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// probeOverlay builds two layers in a scratch dir under dir and mounts
// them the rootless way. The lower layer has gone, opq/old, xw/gone and
// xw/kept; the top one hides gone with a 0/0 whiteout (when mknod lets
// it), opq/old with an opaque opq, and xw/gone with an xattr whiteout.
func probeOverlay(dir string) (overlayFacts, error) {
	var f overlayFacts
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return f, fmt.Errorf("uname: %w", err)
	}
	f.Kernel = unix.ByteSliceToString(uts.Release[:])
	f.DevFuse = errString(openDevFuse())
	scratch, err := os.MkdirTemp(dir, "overlay-probe-")
	if err != nil {
		return f, err
	}
	defer os.RemoveAll(scratch)
	l := Layers{
		Lower: []string{filepath.Join(scratch, "top"), filepath.Join(scratch, "lower")},
		Upper: filepath.Join(scratch, "upper"), Work: filepath.Join(scratch, "work"),
	}
	top, lower := l.Lower[0], l.Lower[1]
	for _, d := range []string{l.Upper, l.Work, top + "/opq", top + "/xw", lower + "/opq", lower + "/xw"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return f, err
		}
	}
	for _, p := range []string{lower + "/gone", lower + "/opq/old", lower + "/xw/gone", lower + "/xw/kept", top + "/xw/gone"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return f, err
		}
	}
	f.MknodWhiteout = errString(unix.Mknod(top+"/gone", unix.S_IFCHR, 0))
	if err := unix.Setxattr(top+"/opq", archive.OpaqueXattr(true), []byte("y"), 0); err != nil {
		f.Native = fmt.Sprintf("set %s: %v", archive.OpaqueXattr(true), errnoText(err))
		return f, nil
	}
	xw := errors.Join(unix.Setxattr(top+"/xw/gone", "user.overlay.whiteout", []byte("y"), 0),
		unix.Setxattr(top+"/xw", archive.OpaqueXattr(true), []byte("x"), 0))
	mfd, err := fsmountOverlay(l, true, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		f.Native = errnoText(err)
		return f, nil
	}
	defer unix.Close(mfd)
	if f.MknodWhiteout == "" && present(mfd, "gone") {
		f.Native = "a 0/0 whiteout did not hide the lower file"
	}
	if present(mfd, "opq/old") {
		f.Native = "user.overlay.opaque did not hide the lower dir's contents"
	}
	switch {
	case xw != nil:
		f.XattrWhiteoutErr = errnoText(xw)
	case present(mfd, "xw/gone"):
		f.XattrWhiteoutErr = "user.overlay.whiteout did not hide the lower file"
	case !present(mfd, "xw/kept"):
		f.XattrWhiteoutErr = "user.overlay.opaque=x hid the lower dir's contents"
	}
	return f, nil
}

// devFuseOpens is openDevFuse, the seam the choice's tests replace.
var devFuseOpens = openDevFuse

// openDevFuse opens /dev/fuse as fuse-overlayfs will, to see whether it
// may (the node is 0600 root on some hosts).
func openDevFuse() error {
	fd, err := unix.Open("/dev/fuse", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/fuse: %w", err)
	}
	return unix.Close(fd)
}

// present reports whether name exists under the mount fd mfd.
func present(mfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(mfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return errnoText(err)
}

// errnoText is err's message with the errno's name, "EPERM: operation
// not permitted", as the design notes and the cache record facts.
func errnoText(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return fmt.Sprintf("%s (%s)", err, unix.ErrnoName(errno))
	}
	return err.Error()
}

// FuseMount is a fuse-overlayfs mount and its server, our child.
type FuseMount struct {
	target string
	cmd    *exec.Cmd
	done   chan struct{} // closed once the server is reaped
}

// fuseSuperMagic is statfs's f_type of a fuse filesystem.
const fuseSuperMagic = 0x65735546

// StartFuseMount mounts l at target with fuse-overlayfs (prog) and returns
// once the mount is there. Its server runs in the foreground as our child,
// not daemonized: we reap it (no orphan for a host init that may not), and
// it keeps the root and mount namespace of ours, so a container that
// pivots into the mount in a namespace of its own moves nothing of the
// server's (a server whose root moved into its own mount would wait on
// itself). Unmount ends it.
func StartFuseMount(target string, l Layers, prog string) (*FuseMount, error) {
	fail := func(err error) (*FuseMount, error) {
		return nil, fmt.Errorf("mount fuse-overlayfs on %s: %w", target, err)
	}
	if len(l.Lower) == 0 {
		return fail(errors.New("no layers"))
	}
	if err := matchUpperRoot(l); err != nil {
		return fail(err)
	}
	var stderr strings.Builder
	m := &FuseMount{target: target, done: make(chan struct{})}
	m.cmd = exec.Command(prog, "-f", "-o", fuseOverlayData(l), target)
	m.cmd.Stderr = &stderr
	if err := m.cmd.Start(); err != nil {
		return fail(err)
	}
	go func() { m.cmd.Wait(); close(m.done) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		var st unix.Statfs_t
		if unix.Statfs(target, &st) == nil && st.Type == fuseSuperMagic {
			return m, nil
		}
		select {
		case <-m.done:
			return fail(fmt.Errorf("%s: %s", m.cmd.ProcessState, strings.TrimSpace(stderr.String())))
		default:
		}
		if time.Now().After(deadline) {
			m.cmd.Process.Kill()
			<-m.done
			return fail(errors.New("not mounted after 10s"))
		}
	}
}

// Unmount detaches the mount (a container's copies of it may outlive it a
// moment) and waits a while for the server to end, then kills it.
func (m *FuseMount) Unmount() error {
	err := unix.Unmount(m.target, unix.MNT_DETACH)
	select {
	case <-m.done:
	case <-time.After(5 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
	if err != nil {
		return fmt.Errorf("unmount fuse-overlayfs at %s: %w", m.target, err)
	}
	return nil
}

// fuseOverlayData is fuse-overlayfs's -o: overlay's own option syntax,
// whose escapes it reads the same way.
func fuseOverlayData(l Layers) string {
	return overlayData(l.Lower, l.Upper, l.Work, false)
}
