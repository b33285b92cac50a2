package userns

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// vfsCap builds a security.capability value: the magic, the permitted and
// inheritable words, and rootid in revision 3.
func vfsCap(rev uint32, permitted []uint32, rootid uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, rev|1) // effective flag set, as setcap +ep does
	for _, p := range permitted {
		b = binary.LittleEndian.AppendUint32(b, p)
		b = binary.LittleEndian.AppendUint32(b, 0)
	}
	if rev == vfsCapRevision3 {
		b = binary.LittleEndian.AppendUint32(b, rootid)
	}
	return b
}

func TestCapPermits(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		bit  int
		want bool
	}{
		{"v2 cap_setuid", vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETUID, 0}, 0), unix.CAP_SETUID, true},
		{"v2 cap_setuid is not cap_setgid", vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETUID, 0}, 0), unix.CAP_SETGID, false},
		{"v2 both", vfsCap(vfsCapRevision2, []uint32{1<<unix.CAP_SETUID | 1<<unix.CAP_SETGID, 0}, 0), unix.CAP_SETGID, true},
		{"v1 cap_setgid", vfsCap(vfsCapRevision1, []uint32{1 << unix.CAP_SETGID}, 0), unix.CAP_SETGID, true},
		{"v3 for the host's root", vfsCap(vfsCapRevision3, []uint32{1 << unix.CAP_SETUID, 0}, 0), unix.CAP_SETUID, true},
		{"v3 for another namespace's root", vfsCap(vfsCapRevision3, []uint32{1 << unix.CAP_SETUID, 0}, 100000), unix.CAP_SETUID, false},
		{"a high capability in the second word", vfsCap(vfsCapRevision2, []uint32{0, 1 << (40 - 32)}, 0), 40, true},
		{"v1 has no second word", vfsCap(vfsCapRevision1, []uint32{0xffffffff}, 0), 40, false},
		{"inheritable only", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, vfsCapRevision2), 0), 1<<unix.CAP_SETUID), 0), 0), unix.CAP_SETUID, false},
		{"truncated", vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETUID, 0}, 0)[:12], unix.CAP_SETUID, false},
		{"v2 magic, v1 size", vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETUID}, 0), unix.CAP_SETUID, false},
		{"unknown revision", vfsCap(0x04000000, []uint32{1 << unix.CAP_SETUID, 0}, 0), unix.CAP_SETUID, false},
		{"empty", nil, unix.CAP_SETUID, false},
	} {
		if got := capPermits(tc.data, tc.bit); got != tc.want {
			t.Errorf("%s: capPermits = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestCheckPrivilegedFiles makes the helpers' three privileged shapes (and
// the nosuid mount that takes privilege away) as real files: root only, as
// only root makes a file setuid root or sets security.capability.
func TestCheckPrivilegedFiles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: setuid root files and security.capability xattrs")
	}
	dir := t.TempDir()
	file := func(name string, mode os.FileMode, xattr []byte) string {
		p := filepath.Join(dir, name)
		write(t, p, "#!/bin/sh\n")
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if xattr != nil {
			if err := unix.Setxattr(p, "security.capability", xattr, 0); err != nil {
				t.Skipf("setting security.capability on %s: %v", dir, err)
			}
		}
		return p
	}
	setuid := file("setuid", 0o755|os.ModeSetuid, nil)
	capUID := file("capuid", 0o755, vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETUID, 0}, 0))
	capGID := file("capgid", 0o755, vfsCap(vfsCapRevision2, []uint32{1 << unix.CAP_SETGID, 0}, 0))
	plain := file("plain", 0o755, nil)
	notRoot := file("notroot", 0o755|os.ModeSetuid, nil)
	if err := os.Chown(notRoot, 1, 1); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(notRoot, 0o755|os.ModeSetuid); err != nil { // chown cleared it
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		k    *kind
		want string // "" when privileged
	}{
		{setuid, uidKind, ""},
		{setuid, gidKind, ""},
		{capUID, uidKind, ""},
		{capGID, gidKind, ""},
		{capUID, gidKind, "is neither setuid root nor given the cap_setgid file capability"},
		{plain, uidKind, "is neither setuid root nor given the cap_setuid file capability"},
		{notRoot, uidKind, "is neither setuid root"},
		{filepath.Join(dir, "missing"), uidKind, "checking newuidmap: stat " + dir + "/missing: no such file or directory"},
	} {
		err := checkPrivileged(tc.path, tc.k)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("checkPrivileged(%s, %s) = %v; want %q", filepath.Base(tc.path), tc.k.helper, err, tc.want)
		}
	}

	// nosuid: a tmpfs of this test's own, unmounted after.
	mnt := filepath.Join(dir, "nosuid")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", unix.MS_NOSUID, "size=64k"); err != nil {
		t.Skipf("mounting a tmpfs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })
	p := filepath.Join(mnt, "newuidmap")
	write(t, p, "#!/bin/sh\n")
	if err := os.Chmod(p, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if err := checkPrivileged(p, uidKind); err == nil || !strings.Contains(err.Error(), "is on a filesystem mounted nosuid") {
		t.Errorf("checkPrivileged on a nosuid mount = %v; want the nosuid error", err)
	}
}

// TestApplyHelperError: a helper's failure names the helper and its
// stderr's first line (a fake helper: no child needed to fail).
func TestApplyHelperError(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "newuidmap")
	write(t, fake, "#!/bin/sh\necho \"newuidmap: uid range [1-65537) -> [100000-165536) not allowed\" >&2\necho second line >&2\nexit 1\n")
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	m := Subordinate{User: User{Name: "alice", UID: 1000, GID: 1000}, UIDs: []Range{{100000, 65536}}}.Mapping()
	err := Helpers{NewUIDMap: fake}.Apply(4242, m)
	want := "newuidmap 4242: newuidmap: uid range [1-65537) -> [100000-165536) not allowed: exit status 1"
	if err == nil || err.Error() != want {
		t.Errorf("Apply = %v; want %q", err, want)
	}

	// The arguments are newuidmap's: PID, then container id, host id, size.
	args := filepath.Join(dir, "args")
	write(t, fake, "#!/bin/sh\necho \"$@\" > "+args+"\n")
	m = Subordinate{User: User{Name: "alice", UID: 1000, GID: 1000}, UIDs: []Range{{300000, 10}, {100000, 65536}}}.Mapping()
	if err := (Helpers{NewUIDMap: fake}).applyKind(4242, uidKind, m.UIDs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(args)
	if want := "4242 0 1000 1 1 300000 10 11 100000 65536\n"; string(got) != want {
		t.Errorf("newuidmap's arguments %q, want %q", got, want)
	}
}
