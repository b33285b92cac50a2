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
