package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// inConsoleRoot runs fn with a root (its path and an O_PATH fd) whose
// /dev is a tmpfs and /dev/pts a new devpts instance, after setup
// prepared it, in a private mount namespace.
func inConsoleRoot(t *testing.T, setup func(root string) error, fn func(root string, rootfd int)) {
	t.Helper()
	inPrivateMountNS(t, func() {
		root, rootfd, ok := cveRoot(t)
		if !ok {
			return
		}
		pts := filepath.Join(root, "dev/pts")
		if err := os.Mkdir(pts, 0o755); err != nil {
			t.Error(err)
			return
		}
		if err := unix.Mount("devpts", pts, "devpts", 0, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
			t.Error(err)
			return
		}
		if setup != nil {
			if err := setup(root); err != nil {
				t.Errorf("setup: %v", err)
				return
			}
		}
		fn(root, rootfd)
	})
}

// newPty opens a pty the way the init does and returns its slave.
func newPty(t *testing.T, rootfd int) (master, slave int, ok bool) {
	t.Helper()
	master, err := openPtmxIn(rootfd)
	if err != nil {
		t.Errorf("OpenPtmx: %v", err)
		return -1, -1, false
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		t.Errorf("unlock: %v", err)
		return -1, -1, false
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		t.Errorf("TIOCGPTPEER: %v", e)
		return -1, -1, false
	}
	return master, int(r), true
}

func TestMountConsole(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(root string) error
		wantErr string
	}{
		{name: "made when missing"},
		{name: "an existing file", setup: func(root string) error {
			return os.WriteFile(filepath.Join(root, "dev/console"), nil, 0o600)
		}},
		{name: "a link (CVE-2025-52565)", wantErr: "a symlink on the path", setup: func(root string) error {
			return os.Symlink("/secret", filepath.Join(root, "dev/console"))
		}},
		{name: "a directory", wantErr: "is a directory, not a file or a device", setup: func(root string) error {
			return os.Mkdir(filepath.Join(root, "dev/console"), 0o755)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inConsoleRoot(t, tt.setup, func(root string, rootfd int) {
				master, slave, ok := newPty(t, rootfd)
				if !ok {
					return
				}
				defer unix.Close(master)
				defer unix.Close(slave)
				err := mountConsoleIn(rootfd, slave)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("MountConsole: %v, want an error with %q", err, tt.wantErr)
					}
				} else if err != nil {
					t.Errorf("MountConsole: %v", err)
				} else {
					var st unix.Stat_t
					if err := unix.Stat(filepath.Join(root, "dev/console"), &st); err != nil || unix.Major(st.Rdev) != ptySlaveMajor {
						t.Errorf("/dev/console: %v, rdev %d:%d; want the pty", err, unix.Major(st.Rdev), unix.Minor(st.Rdev))
					}
				}
				var fs unix.Statfs_t
				if unix.Statfs(filepath.Join(root, "secret"), &fs) != nil || fs.Type == unix.DEVPTS_SUPER_MAGIC {
					t.Error("the pty landed on what /dev/console's link names")
				}
			})
		})
	}
}

func TestMountConsoleRefusesNonPty(t *testing.T) {
	inConsoleRoot(t, mknodNull, func(root string, rootfd int) {
		fd, err := unix.Open(filepath.Join(root, "dev/null"), unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		if err := mountConsoleIn(rootfd, fd); err == nil || !strings.Contains(err.Error(), "not a pty on a devpts") {
			t.Errorf("MountConsole(/dev/null): %v, want a refusal", err)
		}
		if _, err := os.Stat(filepath.Join(root, "dev/console")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("/dev/console after the refusal: %v", err)
		}
	})
}

// TestOpenPtmxRefuses: a /dev/pts/ptmx that is not a devpts's own (a
// node made on a tmpfs, a link) is refused before it is opened.
func TestOpenPtmxRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, wantErr string
		make          func(ptmx string) error
	}{
		{"a node on a tmpfs", "not a devpts's ptmx", func(ptmx string) error {
			return unix.Mknod(ptmx, unix.S_IFCHR|0o666, int(unix.Mkdev(ptmxMajor, ptmxMinor)))
		}},
		{"a link", "/dev/pts/ptmx is a symlink", func(ptmx string) error { return os.Symlink("/dev/null", ptmx) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			setup := func(root string) error {
				pts := filepath.Join(root, "dev/pts")
				if err := unix.Unmount(pts, 0); err != nil {
					return err
				}
				if err := mknodNull(root); err != nil {
					return err
				}
				return tt.make(filepath.Join(pts, "ptmx"))
			}
			inConsoleRoot(t, setup, func(_ string, rootfd int) {
				fd, err := openPtmxIn(rootfd)
				if err == nil {
					unix.Close(fd)
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("OpenPtmx: %v, want an error with %q", err, tt.wantErr)
				}
			})
		})
	}
}
