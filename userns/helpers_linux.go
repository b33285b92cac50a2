package userns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// Helpers are the paths of the distribution's newuidmap and newgidmap
// (Debian's uidmap package), the only privileged programs a rootless skiff
// uses: they write a child's maps with the ranges /etc/subuid and
// /etc/subgid grant its user. An empty path is looked up in $PATH.
type Helpers struct {
	NewUIDMap, NewGIDMap string
}

func (h Helpers) path(k *kind) string {
	if k == uidKind {
		return h.NewUIDMap
	}
	return h.NewGIDMap
}

// lookup is k's helper's path, without checking its privilege (Apply's
// path: Preflight checked it).
func (h Helpers) lookup(k *kind) (string, error) {
	if p := h.path(k); p != "" {
		return p, nil
	}
	p, err := exec.LookPath(k.helper)
	if err != nil {
		return "", fmt.Errorf("%s, which maps the subordinate %ss, is not installed: install Debian's uidmap package (shadow-utils on Fedora) as root", k.helper, k.id)
	}
	return p, nil
}

// find is k's helper's path once checked to have the privilege it needs.
func (h Helpers) find(k *kind) (string, error) {
	p, err := h.lookup(k)
	if err != nil {
		return "", err
	}
	if err := checkPrivileged(p, k); err != nil {
		return "", err
	}
	return p, nil
}

// checkPrivileged checks that running path gives it k's capability: it is
// setuid root, or its security.capability xattr permits the capability
// (Fedora ships newuidmap with file capabilities rather than setuid), on a
// filesystem not mounted nosuid (which ignores both).
func checkPrivileged(path string, k *kind) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("checking %s: %w", k.helper, &os.PathError{Op: "stat", Path: path, Err: err})
	}
	setuidRoot := st.Mode&unix.S_ISUID != 0 && st.Uid == 0
	capable, err := fileCapPermits(path, k.capBit)
	if err != nil {
		return fmt.Errorf("checking %s: %w", k.helper, err)
	}
	if !setuidRoot && !capable {
		return fmt.Errorf("%s is neither setuid root nor given the cap_set%s file capability, so it cannot map the subordinate %ss: reinstall Debian's uidmap package (shadow-utils on Fedora) as root",
			path, k.id, k.id)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(path, &sfs); err != nil {
		return fmt.Errorf("checking %s: %w", k.helper, &os.PathError{Op: "statfs", Path: path, Err: err})
	}
	if sfs.Flags&unix.ST_NOSUID != 0 {
		return fmt.Errorf("%s is on a filesystem mounted nosuid, which takes away its privilege, so it cannot map the subordinate %ss", path, k.id)
	}
	return nil
}

// fileCapPermits reads path's security.capability xattr and reports whether
// its permitted set holds capability bit.
func fileCapPermits(path string, bit int) (bool, error) {
	buf := make([]byte, vfsCapSize3)
	n, err := unix.Getxattr(path, "security.capability", buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "getxattr security.capability", Path: path, Err: err}
	}
	return capPermits(buf[:n], bit), nil
}

// The layout of security.capability (linux/capability.h's vfs_cap_data):
// a little-endian magic with the revision in its top byte, then a
// (permitted, inheritable) pair of 32-bit words per 32 capabilities
// (one pair in revision 1, two in 2 and 3), then in revision 3 the root
// uid of the user namespace the capabilities are for.
const (
	vfsCapRevisionMask = 0xff000000
	vfsCapRevision1    = 0x01000000
	vfsCapRevision2    = 0x02000000
	vfsCapRevision3    = 0x03000000
	vfsCapSize1        = 4 + 1*8
	vfsCapSize2        = 4 + 2*8
	vfsCapSize3        = vfsCapSize2 + 4
)

// capPermits reports whether the xattr value data permits capability bit
// in the initial user namespace: a revision 3 value for another namespace's
// root (rootid not 0) gives nothing on the host.
func capPermits(data []byte, bit int) bool {
	if len(data) < 4 {
		return false
	}
	le := binary.LittleEndian
	words := 0
	switch rev := le.Uint32(data) & vfsCapRevisionMask; {
	case rev == vfsCapRevision1 && len(data) == vfsCapSize1:
		words = 1
	case rev == vfsCapRevision2 && len(data) == vfsCapSize2:
		words = 2
	case rev == vfsCapRevision3 && len(data) == vfsCapSize3:
		if le.Uint32(data[vfsCapSize2:]) != 0 {
			return false
		}
		words = 2
	default:
		return false
	}
	if bit/32 >= words {
		return false
	}
	permitted := le.Uint32(data[4+8*(bit/32):])
	return permitted&(1<<(bit%32)) != 0
}
