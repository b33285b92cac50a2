package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inPrivateMountNS runs fn on a thread with its own mount namespace. The
// thread stays locked, so Go discards it when the test goroutine ends and
// no mount outlives the test.
func inPrivateMountNS(t *testing.T, fn func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			t.Errorf("make / rslave: %v", err)
			return
		}
		fn()
	}()
	<-done
}

func TestMountOverlayManyLayers(t *testing.T) {
	// 60 layers of ~90-byte paths overflow mount(2)'s one-page data as
	// absolute paths, but not as paths relative to their common parent.
	base := filepath.Join(t.TempDir(), strings.Repeat("d", 40))
	var lowers []string
	for i := 0; i < 60; i++ {
		l := filepath.Join(base, fmt.Sprintf("layer-%02d-%s", i, strings.Repeat("x", 30)))
		if err := os.MkdirAll(l, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(l, "who"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		lowers = append(lowers, l)
	}
	if err := os.WriteFile(filepath.Join(lowers[59], "bottom"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := overlayData(lowers, "u", "w", false); len(d) < os.Getpagesize() {
		t.Fatalf("fixture too small: %d bytes of mount data", len(d))
	}
	for _, tt := range []struct {
		name  string
		mount func(target string, l Layers, userxattr bool) error
	}{
		{"fsconfig lowerdir+", mountOverlayFsconfig},
		{"mount(2) relative paths", mountOverlayLegacy},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			target, upper, work := filepath.Join(dir, "root"), filepath.Join(base, "upper-"+tt.name[:4]), filepath.Join(base, "work-"+tt.name[:4])
			for _, d := range []string{target, upper, work} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			wd, _ := os.Getwd()
			inPrivateMountNS(t, func() {
				if err := tt.mount(target, Layers{Lower: lowers, Upper: upper, Work: work}, false); err != nil {
					t.Errorf("mount: %v", err)
					return
				}
				if got, err := os.ReadFile(filepath.Join(target, "who")); err != nil || string(got) != "0" {
					t.Errorf("who = %q, %v; want the top layer's 0", got, err)
				}
				if _, err := os.Stat(filepath.Join(target, "bottom")); err != nil {
					t.Errorf("bottom layer not visible: %v", err)
				}
				if now, _ := os.Getwd(); now != wd {
					t.Errorf("cwd left at %s, was %s", now, wd)
				}
			})
		})
	}
}

// A --root under a directory whose name has a comma or a colon (a test's
// temp dir, a user's path) mounts through mount(2) too: kernels before
// 6.8 take that path, and its data is comma-separated.
func TestOverlayLegacyEscapesPaths(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	base := filepath.Join(t.TempDir(), "a,b:c")
	lower, upper, work, target := filepath.Join(base, "l,1"), filepath.Join(base, "u,p"), filepath.Join(base, "w:k"), filepath.Join(base, "root")
	for _, d := range []string{lower, upper, work, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(lower, "seen"), []byte("yes"), 0o644); err != nil {
		t.Fatal(err)
	}
	inPrivateMountNS(t, func() {
		if err := mountOverlayLegacy(target, Layers{Lower: []string{lower}, Upper: upper, Work: work}, false); err != nil {
			t.Errorf("mount: %v", err)
			return
		}
		if got, err := os.ReadFile(filepath.Join(target, "seen")); err != nil || string(got) != "yes" {
			t.Errorf("seen = %q, %v; want the lower layer's file", got, err)
		}
	})
}

// TestOverlayLowerListLongPaths: before Linux 6.8 (no "lowerdir+") the
// layers go as one "lowerdir" of at most 255 bytes; longer paths go as
// /proc/self/fd/N of descriptors held until the overlay is made, and a
// detached read-only view (cp, commit, a volume's copy-up) still mounts.
func TestOverlayLowerListLongPaths(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	base := filepath.Join(t.TempDir(), strings.Repeat("p", 60))
	var lowers []string
	for i := range 4 {
		l := filepath.Join(base, fmt.Sprintf("layer-%d-%s", i, strings.Repeat("y", 40)))
		if err := os.MkdirAll(l, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(l, fmt.Sprint("f", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		lowers = append(lowers, l)
	}
	if n := len(joinLowers(lowers)); n <= fsconfigMaxString {
		t.Fatalf("fixture too small: %d bytes of lowerdir", n)
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fsfd)
	closeFDs, err := overlayLowerList(fsfd, lowers)
	if err != nil {
		t.Fatal(err)
	}
	err = unix.FsconfigCreate(fsfd)
	closeFDs()
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mfd)
	for i := range 4 {
		var st unix.Stat_t
		if err := unix.Fstatat(mfd, fmt.Sprint("f", i), &st, 0); err != nil {
			t.Errorf("layer %d's file in the view: %v", i, err)
		}
	}
	many := make([]string, 20)
	for i := range many {
		many[i] = lowers[i%len(lowers)]
	}
	if _, err := overlayLowerList(fsfd, many); err == nil || !strings.Contains(err.Error(), "Linux 6.8") {
		t.Errorf("20 layers on one lowerdir key: err = %v, want the kernel's limit named", err)
	}
}
