package rootfs

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
)

// The rootless overlay tested where it runs: in a child of the test binary
// in a new user and mount namespace that maps host ids 100000-165535 to
// 0-65535, as newuidmap would for a user's subordinate range. The child
// is uid 0 in there and an unprivileged uid on the host.

const (
	usernsHostID = 100000
	usernsSize   = 65536
	usernsCase   = "SKIFF_TEST_USERNS_CASE"
	usernsDir    = "SKIFF_TEST_USERNS_DIR"
)

// userNSCases are what a child can run, by name, in dir.
var userNSCases = map[string]func(dir string) error{
	"probe":        childProbe,
	"layers-mknod": func(dir string) error { return childLayers(dir, RootlessStorage{Driver: NativeOverlay}) },
	"layers-xattr": func(dir string) error {
		return childLayers(dir, RootlessStorage{Driver: NativeOverlay, XattrWhiteouts: true})
	},
	"layers-fuse":   childFuseLayers,
	"unmapped-uid":  func(dir string) error { return childUnmapped(dir, tar.Header{Uid: usernsSize + 4464}) },
	"unmapped-gid":  func(dir string) error { return childUnmapped(dir, tar.Header{Gid: usernsSize}) },
	"mapped-owners": childMappedOwners,
	"facts":         childFacts,
}

// TestHelperUserNS is not a test: it is the child userNS starts, which
// runs one case and exits 0, or 1 with the error on stderr.
func TestHelperUserNS(t *testing.T) {
	name := os.Getenv(usernsCase)
	if name == "" {
		return
	}
	if err := userNSCases[name](os.Getenv(usernsDir)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// userNSDir is a scratch dir the child's host uid owns, with the test
// binary copied in: go test's build dir is closed to other uids.
func userNSDir(t *testing.T) (dir, bin string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to map a user namespace")
	}
	base, err := os.MkdirTemp("", "skiff-userns-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	bin = filepath.Join(base, "test.bin")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(base, "work")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chmod(base, 0o755), os.Chown(dir, usernsHostID, usernsHostID)); err != nil {
		t.Fatal(err)
	}
	return dir, bin
}

// userNS runs case name in a child in a new user and mount namespace and
// returns its stdout, or its error.
func userNS(t *testing.T, dir, bin, name string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperUserNS$", "-test.count=1")
	cmd.Env = append(os.Environ(), usernsCase+"="+name, usernsDir+"="+dir)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsHostID, Size: usernsSize}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: usernsHostID, Size: usernsSize}},
		// Without a setuid in there the child keeps host root's ids,
		// which the namespace does not map.
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
		GidMappingsEnableSetgroups: true,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// TestRootlessOverlayProbe records what this kernel allows in a user
// namespace (docs/design.md has the facts) and that the probe chooses
// native overlay where it works.
func TestRootlessOverlayProbe(t *testing.T) {
	dir, bin := userNSDir(t)
	out, err := userNS(t, dir, bin, "probe")
	if err != nil {
		t.Fatal(err)
	}
	var f overlayFacts
	if err := json.Unmarshal([]byte(out), &f); err != nil {
		t.Fatalf("probe output %q: %v", out, err)
	}
	t.Logf("kernel %s: mknod 0/0 whiteout: %q; overlay userxattr: %q; xattr whiteout: %q", f.Kernel, f.MknodWhiteout, f.Native, f.XattrWhiteoutErr)
	if f.Native != "" {
		t.Skipf("kernel %s refuses native overlay in a user namespace: %s", f.Kernel, f.Native)
	}
	s, err := f.storage("")
	if err != nil || s.Driver != NativeOverlay {
		t.Fatalf("storage from %+v = %+v, %v; want native overlay", f, s, err)
	}
	if _, err := os.Stat(filepath.Join(dir, overlayCacheFile)); err != nil {
		t.Errorf("no cached answer: %v", err)
	}
}

// childProbe runs the probe with dir as its cache and prints its facts.
func childProbe(dir string) error {
	if _, err := RootlessOverlay(OverlayProbe{CacheDir: dir}); err != nil && !strings.Contains(err.Error(), "fuse-overlayfs") {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, overlayCacheFile))
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// The probe's answer is cached per boot: a cached answer of this boot is
// taken as it is, one of another boot is probed again.
func TestRootlessOverlayCachedPerBoot(t *testing.T) {
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cached := overlayFacts{BootID: strings.TrimSpace(string(boot)), Kernel: "cached", Native: "refused in the cache"}
	if err := writeFileAtomic(filepath.Join(dir, overlayCacheFile), cached); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err = RootlessOverlay(OverlayProbe{CacheDir: dir})
	if err == nil || !strings.Contains(err.Error(), "kernel cached refuses overlay in the user namespace (refused in the cache)") {
		t.Fatalf("this boot's cache not used: %v", err)
	}
	cached.BootID = "another boot"
	if err := writeFileAtomic(filepath.Join(dir, overlayCacheFile), cached); err != nil {
		t.Fatal(err)
	}
	f, err := overlayFactsOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Kernel == "cached" {
		t.Fatalf("another boot's cache was used: %+v", f)
	}
}

// The choice from the facts: native where it works, fuse-overlayfs when
// forced or native is refused, else an error naming the kernel
// requirement and the package to install.
func TestRootlessOverlayChoice(t *testing.T) {
	bin := t.TempDir()
	fuse := filepath.Join(bin, "fuse-overlayfs")
	if err := os.WriteFile(fuse, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	works := overlayFacts{Kernel: "6.18"}
	noMknod := overlayFacts{Kernel: "6.18", MknodWhiteout: "operation not permitted (EPERM)"}
	noMknodNoXattr := overlayFacts{Kernel: "6.1", MknodWhiteout: "operation not permitted (EPERM)", XattrWhiteoutErr: "user.overlay.whiteout did not hide the lower file"}
	refused := overlayFacts{Kernel: "5.10", Native: "fsconfig: invalid argument (EINVAL)"}
	tests := []struct {
		name  string
		facts overlayFacts
		force OverlayDriver
		path  string
		want  RootlessStorage
		err   string
	}{
		{"native", works, "", bin, RootlessStorage{Driver: NativeOverlay}, ""},
		{"native xattr whiteouts", noMknod, "", bin, RootlessStorage{Driver: NativeOverlay, XattrWhiteouts: true}, ""},
		{"forced fuse", works, FuseOverlay, bin, RootlessStorage{Driver: FuseOverlay, FuseOverlayfs: fuse}, ""},
		{"refused: fuse", refused, "", bin, RootlessStorage{Driver: FuseOverlay, FuseOverlayfs: fuse}, ""},
		{"refused: none", refused, "", "/nonexistent", RootlessStorage{},
			"rootless overlay: kernel 5.10 refuses overlay in the user namespace (fsconfig: invalid argument (EINVAL)): native rootless overlay needs Linux 5.11 or later (6.7 where mknod of a whiteout is refused), and fuse-overlayfs is not found in PATH: install the fuse-overlayfs package"},
		{"no whiteout form: none", noMknodNoXattr, "", "/nonexistent", RootlessStorage{}, "needs Linux 5.11 or later (6.7 where mknod of a whiteout is refused)"},
		{"no whiteout form: fuse refused too", noMknodNoXattr, "", bin, RootlessStorage{}, "fuse-overlayfs needs whiteouts as 0/0 devices"},
		{"forced fuse missing", works, FuseOverlay, "/nonexistent", RootlessStorage{}, "fuse-overlayfs is forced but not found in PATH: install the fuse-overlayfs package"},
		{"forced native refused", refused, NativeOverlay, bin, RootlessStorage{}, "native overlay is forced but kernel 5.10 refuses"},
		{"forced fuse, no /dev/fuse", overlayFacts{Kernel: "6.18", DevFuse: "open /dev/fuse: permission denied (EACCES)"}, FuseOverlay, bin, RootlessStorage{},
			"rootless overlay: fuse-overlayfs cannot open /dev/fuse: open /dev/fuse: permission denied (EACCES)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PATH", tt.path)
			// The choice opens /dev/fuse live: here it fails as the facts say.
			defer func(f func() error) { devFuseOpens = f }(devFuseOpens)
			devFuseOpens = func() error {
				if tt.facts.DevFuse != "" {
					return fmt.Errorf("open /dev/fuse: %w", unix.EACCES)
				}
				return nil
			}
			got, err := tt.facts.storage(tt.force)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// tarOf is an uncompressed layer of hdrs; a regular file's body is its name.
func tarOf(hdrs ...tar.Header) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, h := range hdrs {
		h.Format, h.ModTime = tar.FormatPAX, time.Unix(1e9, 0)
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Name
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			panic(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	return b.Bytes()
}

// The two layers every driver is checked with: the top one deletes
// gone and dir/gone (whiteouts), and makes opq opaque after and before
// whiteouts in it; owners are ids of the namespace's range.
var (
	baseLayer = tarOf(
		tar.Header{Name: "gone"}, tar.Header{Name: "kept", Uid: 1000, Gid: 1000},
		tar.Header{Name: "dir/", Typeflag: tar.TypeDir}, tar.Header{Name: "dir/gone"}, tar.Header{Name: "dir/kept"},
		tar.Header{Name: "opq/", Typeflag: tar.TypeDir}, tar.Header{Name: "opq/old"}, tar.Header{Name: "opq/hidden"},
		tar.Header{Name: "opq2/", Typeflag: tar.TypeDir}, tar.Header{Name: "opq2/old"},
	)
	topLayer = tarOf(
		tar.Header{Name: ".wh.gone"},
		tar.Header{Name: "dir/", Typeflag: tar.TypeDir}, tar.Header{Name: "dir/.wh.gone"}, tar.Header{Name: "dir/new", Uid: 2000, Gid: 3000},
		// a whiteout before the opaque mark (the xattr form must drop it)
		tar.Header{Name: "opq/", Typeflag: tar.TypeDir}, tar.Header{Name: "opq/.wh.hidden"}, tar.Header{Name: "opq/.wh..wh..opq"}, tar.Header{Name: "opq/new"},
		// a whiteout after it (the xattr form must not make one)
		tar.Header{Name: "opq2/", Typeflag: tar.TypeDir}, tar.Header{Name: "opq2/.wh..wh..opq"}, tar.Header{Name: "opq2/.wh.old"},
	)
	// mergedWant is the merged view: name -> owner inside the namespace.
	mergedWant = map[string]string{
		"kept": "1000:1000", "dir": "0:0", "dir/kept": "0:0", "dir/new": "2000:3000",
		"opq": "0:0", "opq/new": "0:0", "opq2": "0:0",
	}
)

// childLayers extracts the two layers with s's extraction mode, mounts
// them with an upper dir the way s says and checks the merged view.
func childLayers(dir string, s RootlessStorage) error {
	return layersMounted(dir, s.LayerOptions(), func(target string, l Layers) error {
		if s.Driver == FuseOverlay {
			_, err := StartFuseMount(target, l, s.FuseOverlayfs) // the server ends with the child
			return err
		}
		return MountOverlay(target, l, true) // userxattr, as the init mounts it
	})
}

// layersMounted extracts the two layers with o, mounts them with an upper
// dir and checks the merged view.
func layersMounted(dir string, o archive.ExtractOptions, mount func(target string, l Layers) error) error {
	var lower []string
	for i, layer := range [][]byte{topLayer, baseLayer} {
		d := filepath.Join(dir, fmt.Sprintf("layer%d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		if _, err := archive.ExtractDir(bytes.NewReader(layer), d, o); err != nil {
			return fmt.Errorf("extract layer %d: %w", i, err)
		}
		lower = append(lower, d)
	}
	l := Layers{Lower: lower, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
	merged := filepath.Join(dir, "merged")
	for _, d := range []string{l.Upper, l.Work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
	}
	if err := mount(merged, l); err != nil {
		return err
	}
	defer unix.Unmount(merged, unix.MNT_DETACH)
	return checkMerged(merged)
}

// checkMerged compares the tree under merged with mergedWant.
func checkMerged(merged string) error {
	got := map[string]string{}
	err := filepath.Walk(merged, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == merged {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(merged, p)
		got[rel] = fmt.Sprintf("%d:%d", st.Uid, st.Gid)
		return nil
	})
	if err != nil {
		return err
	}
	if fmt.Sprint(got) != fmt.Sprint(mergedWant) {
		return fmt.Errorf("merged view\n got %v\nwant %v", got, mergedWant)
	}
	return nil
}

// childFuseLayers is childLayers with fuse-overlayfs. /dev/fuse may be
// closed to the child's host uid (0600 here); the parent made an open
// node of the same device in dir, bound over /dev/fuse in the child's own
// mount namespace only.
func childFuseLayers(dir string) error {
	if err := unix.Mount(filepath.Join(dir, "fuse"), "/dev/fuse", "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /dev/fuse: %w", err)
	}
	prog, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return err
	}
	return childLayers(dir, RootlessStorage{Driver: FuseOverlay, FuseOverlayfs: prog})
}

// TestRootlessLayersMounted is the rootless layer extraction and overlay
// end to end, in a user namespace, with each whiteout form and driver:
// deleted files are gone, an opaque dir hides the lower one's contents
// (whether whiteouts in it come before or after its mark), and owners are
// the tar's.
func TestRootlessLayersMounted(t *testing.T) {
	for _, c := range []string{"layers-mknod", "layers-xattr", "layers-fuse"} {
		t.Run(c, func(t *testing.T) {
			dir, bin := userNSDir(t)
			if c == "layers-fuse" {
				if _, err := exec.LookPath("fuse-overlayfs"); err != nil {
					t.Skip("fuse-overlayfs is not installed")
				}
				if err := unix.Mknod(filepath.Join(dir, "fuse"), unix.S_IFCHR|0o666, int(unix.Mkdev(10, 229))); err != nil {
					t.Fatal(err)
				}
				if err := unix.Chmod(filepath.Join(dir, "fuse"), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := userNS(t, dir, bin, c); err != nil {
				if strings.Contains(err.Error(), "mount overlay") && strings.Contains(err.Error(), "EINVAL") {
					t.Skipf("the kernel refuses this overlay: %v", err)
				}
				t.Fatal(err)
			}
			if c == "layers-xattr" {
				if _, err := unix.Lgetxattr(filepath.Join(dir, "layer0/gone"), "user.overlay.whiteout", nil); err != nil {
					t.Errorf("gone is no xattr whiteout: %v", err)
				}
			}
			// Seen from the host, the owners are shifted into the range.
			var st unix.Stat_t
			if err := unix.Lstat(filepath.Join(dir, "layer0/dir/new"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Uid != usernsHostID+2000 || st.Gid != usernsHostID+3000 {
				t.Errorf("dir/new on the host is %d:%d, want %d:%d", st.Uid, st.Gid, usernsHostID+2000, usernsHostID+3000)
			}
		})
	}
}

// The same layers extracted and mounted by root: a whiteout in an opaque
// dir is not listed in the merged view either.
func TestRootfulLayersMounted(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount overlay")
	}
	mount := func(target string, l Layers) error { return MountOverlay(target, l, false) }
	if err := layersMounted(t.TempDir(), archive.LayerOptions(false), mount); err != nil {
		t.Fatal(err)
	}
}

// childUnmapped extracts one file owned by an id the namespace lacks.
func childUnmapped(dir string, h tar.Header) error {
	h.Name = "etc/gshadow"
	_, err := archive.ExtractDir(bytes.NewReader(tarOf(h)), dir, archive.UserNSLayerOptions(false))
	var unmapped *archive.UnmappedIDError
	if !errors.As(err, &unmapped) || !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("extract: %v, want an UnmappedIDError wrapping EINVAL", err)
	}
	fmt.Print(err)
	return nil
}

// childMappedOwners extracts files owned by ids at the ends of the range.
func childMappedOwners(dir string) error {
	_, err := archive.ExtractDir(bytes.NewReader(tarOf(
		tar.Header{Name: "root"}, tar.Header{Name: "last", Uid: usernsSize - 1, Gid: usernsSize - 1})), dir, archive.UserNSLayerOptions(false))
	return err
}

// An owner outside the namespace's ids is an error naming the id and the
// range (podman#12715 printed lchown's bare EINVAL); the ends of the
// range extract.
func TestRootlessExtractOwners(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"unmapped-uid", "etc/gshadow: uid 70000 is not mapped in the user namespace (it maps uids 0-65535): the image needs more subordinate ids in /etc/subuid"},
		{"unmapped-gid", "etc/gshadow: gid 65536 is not mapped in the user namespace (it maps gids 0-65535): the image needs more subordinate ids in /etc/subgid"},
		{"mapped-owners", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, bin := userNSDir(t)
			out, err := userNS(t, dir, bin, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if out != tt.want {
				t.Fatalf("error:\n got %q\nwant %q", out, tt.want)
			}
			if tt.want == "" {
				var st unix.Stat_t
				if err := unix.Lstat(filepath.Join(dir, "last"), &st); err != nil {
					t.Fatal(err)
				}
				if st.Uid != usernsHostID+usernsSize-1 {
					t.Errorf("last is owned by host uid %d, want %d", st.Uid, usernsHostID+usernsSize-1)
				}
			}
		})
	}
}

// childFacts tries, in the user namespace, what the rootless overlay
// design depends on and prints each outcome ("ok" or the errno).
func childFacts(dir string) error {
	facts := map[string]string{}
	try := func(name string, err error) {
		facts[name] = "ok"
		var errno unix.Errno
		if errors.As(err, &errno) {
			facts[name] = unix.ErrnoName(errno)
		} else if err != nil {
			facts[name] = err.Error()
		}
	}
	mk := func(p string) string {
		os.MkdirAll(p, 0o755)
		return p
	}
	lower, upper, work, mnt := mk(dir+"/lower"), mk(dir+"/upper"), mk(dir+"/work"), mk(dir+"/mnt")
	mk(lower + "/d")
	os.WriteFile(lower+"/d/f", nil, 0o644)
	os.WriteFile(lower+"/f", nil, 0o644)
	l := Layers{Lower: []string{lower}, Upper: upper, Work: work}
	try("mknod 0/0 whiteout", unix.Mknod(dir+"/wh", unix.S_IFCHR, 0))
	try("mknod 1/3 (a real device)", unix.Mknod(dir+"/null", unix.S_IFCHR, int(unix.Mkdev(1, 3))))
	try("set user.overlay.opaque on a dir", unix.Setxattr(lower+"/d", "user.overlay.opaque", []byte("y"), 0))
	try("set trusted.overlay.opaque on a dir", unix.Setxattr(lower+"/d", "trusted.overlay.opaque", []byte("y"), 0))
	try("set user.* on a 0/0 whiteout", unix.Lsetxattr(dir+"/wh", "user.overlay.whiteout", []byte("y"), 0))
	try("chown to an unmapped uid", unix.Lchown(lower+"/f", usernsSize, 0))
	try("open /dev/fuse", openDevFuse())
	fd, err := fsmountOverlay(l, false, unix.MOUNT_ATTR_NODEV)
	try("fsmount overlay without userxattr", err)
	if err == nil {
		unix.Close(fd)
	}
	fd, err = fsmountOverlay(l, true, unix.MOUNT_ATTR_NODEV)
	try("fsmount overlay with userxattr", err)
	if err == nil {
		unix.Close(fd)
	}
	// user.overlay.opaque read only with userxattr: a top layer's d hides d/f.
	top := mk(dir + "/top/d")
	unix.Setxattr(top, "user.overlay.opaque", []byte("y"), 0)
	for _, userxattr := range []bool{false, true} {
		fd, err := fsmountOverlay(Layers{Lower: []string{dir + "/top", lower}}, userxattr, unix.MOUNT_ATTR_NODEV)
		if err == nil {
			facts[fmt.Sprintf("user.overlay.opaque hides, userxattr %v", userxattr)] = fmt.Sprint(!present(fd, "d/f"))
			unix.Close(fd)
		}
	}
	try("mount(2) overlay with userxattr", unix.Mount("overlay", mnt, "overlay", unix.MS_NODEV, overlayData(l.Lower, upper, work, true)))
	unix.Unmount(mnt, 0)
	try("mount(2) overlay with userxattr, no nodev", unix.Mount("overlay", mnt, "overlay", 0, overlayData(l.Lower, upper, work, true)))
	unix.Unmount(mnt, 0)
	// An xattr whiteout in the upper dir rather than a lower one.
	os.MkdirAll(upper+"/d", 0o755)
	os.WriteFile(upper+"/d/f", nil, 0o644)
	unix.Setxattr(upper+"/d/f", "user.overlay.whiteout", []byte("y"), 0)
	unix.Setxattr(upper+"/d", "user.overlay.opaque", []byte("x"), 0)
	unix.Removexattr(lower+"/d", "user.overlay.opaque")
	fd, err = fsmountOverlay(l, true, unix.MOUNT_ATTR_NODEV)
	if err == nil {
		facts["xattr whiteout in the upper dir hides"] = fmt.Sprint(!present(fd, "d/f"))
		unix.Close(fd)
	}
	b, err := json.Marshal(facts)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// TestRootlessOverlayFacts logs what the kernel allows in a user
// namespace (docs/design.md, "Rootless: overlay") and holds the outcomes
// the design relies on.
func TestRootlessOverlayFacts(t *testing.T) {
	dir, bin := userNSDir(t)
	out, err := userNS(t, dir, bin, "facts")
	if err != nil {
		t.Fatal(err)
	}
	var facts map[string]string
	if err := json.Unmarshal([]byte(out), &facts); err != nil {
		t.Fatalf("facts %q: %v", out, err)
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	t.Logf("kernel %s", unix.ByteSliceToString(uts.Release[:]))
	for k, v := range facts {
		t.Logf("%-45s %s", k, v)
	}
	for k, want := range map[string]string{
		"set trusted.overlay.opaque on a dir":        "EPERM",
		"mknod 1/3 (a real device)":                  "EPERM",
		"chown to an unmapped uid":                   "EINVAL",
		"user.overlay.opaque hides, userxattr true":  "true",
		"user.overlay.opaque hides, userxattr false": "false",
	} {
		if facts[k] != want {
			t.Errorf("%s: %s, want %s", k, facts[k], want)
		}
	}
}

// docker diff reads a lower layer's xattr whiteout as a whiteout: a path
// it hides is new again in the upper dir, not changed.
func TestChangesXattrWhiteout(t *testing.T) {
	top := mkTree(t, "f data/a")
	if err := errors.Join(unix.Setxattr(filepath.Join(top, "data/a"), "user.overlay.whiteout", []byte("y"), 0),
		unix.Truncate(filepath.Join(top, "data/a"), 0),
		unix.Setxattr(filepath.Join(top, "data"), "user.overlay.opaque", []byte("x"), 0)); err != nil {
		t.Fatal(err)
	}
	got, err := Changes(mkTree(t, "f data/a"), []string{top, mkTree(t, "f data/a")}, true)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[C /data A /data/a]" {
		t.Fatalf("changes %v, want [C /data A /data/a]", got)
	}
}
