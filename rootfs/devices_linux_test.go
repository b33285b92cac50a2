package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestMakeDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	root := t.TempDir()
	outside := t.TempDir()
	// A hostile image: /etc is a symlink to a host directory.
	if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	mode := os.FileMode(0o640)
	uid, gid := uint32(12), uint32(34)
	devs := []specs.LinuxDevice{
		{Path: "/dev/snd/controlC9", Type: "c", Major: 1, Minor: 7, FileMode: &mode, UID: &uid, GID: &gid},
		{Path: "/dev/xvda", Type: "b", Major: 7, Minor: 250},
		{Path: "/etc/loop", Type: "b", Major: 7, Minor: 250},
	}
	if err := MakeDevices(root, devs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path        string
		typ         uint32
		rdev        uint64
		perm        uint32
		uid, gid    uint32
		checkOwners bool
	}{
		{"dev/snd/controlC9", unix.S_IFCHR, unix.Mkdev(1, 7), 0o640, 12, 34, true},
		{"dev/xvda", unix.S_IFBLK, unix.Mkdev(7, 250), 0, 0, 0, false},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, tc.path), &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&unix.S_IFMT != tc.typ || st.Rdev != tc.rdev || st.Mode&0o7777 != tc.perm {
			t.Errorf("%s: mode %o rdev %d:%d, want type %o perm %o rdev %d:%d", tc.path, st.Mode,
				unix.Major(st.Rdev), unix.Minor(st.Rdev), tc.typ, tc.perm, unix.Major(tc.rdev), unix.Minor(tc.rdev))
		}
		if tc.checkOwners && (st.Uid != tc.uid || st.Gid != tc.gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", tc.path, st.Uid, st.Gid, tc.uid, tc.gid)
		}
	}
	if _, err := os.Lstat(filepath.Join(outside, "loop")); err == nil {
		t.Error("a device node was made through the image's symlink, on the host")
	}
	// Made again (a node already there): left as it is.
	if err := MakeDevices(root, devs[:1]); err != nil {
		t.Errorf("second time: %v", err)
	}
}

// On a nodev mount (the overlay root is one) a node made in place could
// not be opened: it is made in /dev and bound over an empty file instead.
func TestMakeDevicesOnNodev(t *testing.T) {
	inPrivateMountNS(t, func() {
		root := t.TempDir()
		for _, m := range []struct {
			dir   string
			flags uintptr
		}{{"", unix.MS_NODEV}, {"dev", 0}} {
			dir := filepath.Join(root, m.dir)
			os.MkdirAll(dir, 0o755)
			if err := unix.Mount("tmpfs", dir, "tmpfs", m.flags, ""); err != nil {
				t.Errorf("mount tmpfs on %s: %v", dir, err)
				return
			}
		}
		mode := os.FileMode(0o666)
		devs := []specs.LinuxDevice{
			{Path: "/xvdc", Type: "c", Major: 1, Minor: 5, FileMode: &mode},   // zero, on the nodev root
			{Path: "/dev/zz", Type: "c", Major: 1, Minor: 5, FileMode: &mode}, // in /dev: made in place
		}
		if err := MakeDevices(root, devs); err != nil {
			t.Error(err)
			return
		}
		for _, p := range []string{"xvdc", "dev/zz"} {
			f, err := os.Open(filepath.Join(root, p))
			if err != nil {
				t.Errorf("open %s: %v", p, err)
				continue
			}
			f.Close()
		}
		if _, err := os.Lstat(filepath.Join(root, "dev", stagedNode)); err == nil {
			t.Error("the staged node was left in /dev")
		}
	})
}
