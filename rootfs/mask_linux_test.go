package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// cveRoot is a container root for the mask tests, made inside a private
// mount namespace: dev/ a tmpfs (as docker's /dev), a file "target" and a
// directory "dir" to mask, and "secret", a file standing for what a
// hostile link aims the masks at (a procfs file like core_pattern on a
// real host). It returns the root's path and an O_PATH fd of it.
func cveRoot(t *testing.T) (string, int, bool) {
	t.Helper()
	root := t.TempDir()
	ok := func(err error) bool {
		t.Helper()
		if err != nil {
			t.Errorf("fixture: %v", err)
		}
		return err == nil
	}
	if !ok(os.Mkdir(filepath.Join(root, "dev"), 0o755)) ||
		!ok(unix.Mount("tmpfs", filepath.Join(root, "dev"), "tmpfs", 0, "mode=755")) ||
		!ok(os.WriteFile(filepath.Join(root, "target"), []byte("target\n"), 0o644)) ||
		!ok(os.WriteFile(filepath.Join(root, "secret"), []byte("secret\n"), 0o644)) ||
		!ok(os.Mkdir(filepath.Join(root, "dir"), 0o755)) ||
		!ok(os.WriteFile(filepath.Join(root, "dir", "inside"), []byte("inside\n"), 0o644)) {
		return "", -1, false
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if !ok(err) {
		return "", -1, false
	}
	t.Cleanup(func() { unix.Close(fd) })
	return root, fd, true
}

func mknodNull(root string) error {
	return unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
}

// TestMaskLinkedDevNull is CVE-2025-31133: /dev/null a link to another
// file. Bound by path, the link is followed and that file, writable, lands
// on the masked path; MaskPaths refuses.
func TestMaskLinkedDevNull(t *testing.T) {
	inPrivateMountNS(t, func() {
		root, rootfd, ok := cveRoot(t)
		if !ok {
			return
		}
		secret := filepath.Join(root, "secret")
		if err := os.Symlink(secret, filepath.Join(root, "dev/null")); err != nil {
			t.Error(err)
			return
		}
		target := filepath.Join(root, "target")
		// The unprotected path: mount(2) by name follows the link.
		if err := unix.Mount(filepath.Join(root, "dev/null"), target, "", unix.MS_BIND, ""); err != nil {
			t.Errorf("the attack's bind: %v", err)
			return
		}
		if got, _ := os.ReadFile(target); string(got) != "secret\n" {
			t.Errorf("the attack did not work on the unprotected path (target reads %q): the test proves nothing", got)
		}
		unix.Unmount(target, 0)

		err := maskPathsIn(rootfd, []string{"/target"})
		if err == nil || !strings.Contains(err.Error(), "/dev/null is a symlink, not the null device 1:3") {
			t.Errorf("mask with a linked /dev/null: %v, want a refusal naming the link", err)
		}
		if got, _ := os.ReadFile(target); string(got) != "target\n" {
			t.Errorf("target reads %q after the refused mask", got)
		}
	})
}

func TestMaskPaths(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(root string) error // after dev/ and the files exist
		paths   []string
		wantErr string // a substring; "" for success
		check   func(t *testing.T, root string)
	}{
		{
			name: "a file gets the null device", setup: mknodNull, paths: []string{"/target", "/absent"},
			check: func(t *testing.T, root string) {
				var st unix.Stat_t
				if err := unix.Stat(filepath.Join(root, "target"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
					t.Errorf("target after the mask: %v, mode %o rdev %x; want the null device", err, st.Mode, st.Rdev)
				}
				if got, err := os.ReadFile(filepath.Join(root, "target")); err != nil || len(got) != 0 {
					t.Errorf("read the masked target: %q, %v", got, err)
				}
			},
		},
		{
			name: "a directory gets an empty read-only tmpfs", paths: []string{"/dir"},
			check: func(t *testing.T, root string) {
				var fs unix.Statfs_t
				if err := unix.Statfs(filepath.Join(root, "dir"), &fs); err != nil || fs.Type != unix.TMPFS_MAGIC || fs.Flags&unix.ST_RDONLY == 0 {
					t.Errorf("dir after the mask: %v, type %x flags %x; want a read-only tmpfs", err, fs.Type, fs.Flags)
				}
				if ents, _ := os.ReadDir(filepath.Join(root, "dir")); len(ents) != 0 {
					t.Errorf("the masked dir shows %d entries", len(ents))
				}
				if err := os.WriteFile(filepath.Join(root, "dir", "new"), nil, 0o644); !errors.Is(err, unix.EROFS) {
					t.Errorf("write into the masked dir: %v, want EROFS", err)
				}
			},
		},
		{
			name: "a target that is a link", paths: []string{"/link"}, wantErr: "a symlink on the path",
			setup: func(root string) error {
				if err := mknodNull(root); err != nil {
					return err
				}
				return os.Symlink("/secret", filepath.Join(root, "link"))
			},
		},
		{
			name: "a target beyond a link", paths: []string{"/up/secret"}, wantErr: "a symlink on the path",
			setup: func(root string) error {
				if err := mknodNull(root); err != nil {
					return err
				}
				return os.Symlink("/", filepath.Join(root, "up"))
			},
		},
		{
			name: "/dev/null another device", paths: []string{"/target"}, wantErr: "is character device 1:5, not the null device",
			setup: func(root string) error {
				return unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5)))
			},
		},
		{
			name: "/dev/null a file", paths: []string{"/target"}, wantErr: "is a regular file, not the null device",
			setup: func(root string) error { return os.WriteFile(filepath.Join(root, "dev/null"), nil, 0o666) },
		},
		{
			name: "/dev a link", paths: []string{"/target"}, wantErr: "/dev/null: /dev/null: a symlink on the path",
			setup: func(root string) error {
				if err := unix.Unmount(filepath.Join(root, "dev"), 0); err != nil {
					return err
				}
				if err := os.Remove(filepath.Join(root, "dev")); err != nil {
					return err
				}
				if err := os.Mkdir(filepath.Join(root, "realdev"), 0o755); err != nil {
					return err
				}
				if err := unix.Mknod(filepath.Join(root, "realdev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
					return err
				}
				return os.Symlink("/realdev", filepath.Join(root, "dev"))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inPrivateMountNS(t, func() {
				root, rootfd, ok := cveRoot(t)
				if !ok {
					return
				}
				if tt.setup != nil {
					if err := tt.setup(root); err != nil {
						t.Errorf("setup: %v", err)
						return
					}
				}
				err := maskPathsIn(rootfd, tt.paths)
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("maskPathsIn: %v", err)
				case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
					t.Errorf("maskPathsIn: %v, want an error with %q", err, tt.wantErr)
				}
				if got, _ := os.ReadFile(filepath.Join(root, "secret")); string(got) != "secret\n" {
					t.Errorf("secret reads %q", got)
				}
				if tt.check != nil {
					tt.check(t, root)
				}
			})
		})
	}
}

func TestReadonlyPaths(t *testing.T) {
	inPrivateMountNS(t, func() {
		root, rootfd, ok := cveRoot(t)
		if !ok {
			return
		}
		sub := filepath.Join(root, "dir", "sub")
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("tmpfs", sub, "tmpfs", 0, ""); err != nil {
			t.Error(err)
			return
		}
		if err := os.Symlink("/secret", filepath.Join(root, "link")); err != nil {
			t.Error(err)
			return
		}
		if err := readonlyPathsIn(rootfd, []string{"/dir", "/absent", "/target"}); err != nil {
			t.Errorf("readonlyPathsIn: %v", err)
			return
		}
		for _, p := range []string{"dir/new", "dir/sub/new"} {
			if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); !errors.Is(err, unix.EROFS) {
				t.Errorf("write %s: %v, want EROFS (the directory and the mounts below it)", p, err)
			}
		}
		if got, err := os.ReadFile(filepath.Join(root, "dir", "inside")); err != nil || string(got) != "inside\n" {
			t.Errorf("read dir/inside: %q, %v: the content stays", got, err)
		}
		if err := os.WriteFile(filepath.Join(root, "target"), []byte("x"), 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("write target: %v, want EROFS", err)
		}
		err := readonlyPathsIn(rootfd, []string{"/link"})
		if !errors.Is(err, ErrSymlinkOnPath) {
			t.Errorf("read-only through a link: %v, want ErrSymlinkOnPath", err)
		}
		if err := os.WriteFile(filepath.Join(root, "secret"), []byte("still writable\n"), 0o644); err != nil {
			t.Errorf("the link's target was made read-only: %v", err)
		}
	})
}
