package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// fsName names the filesystem dir lives on, as the output must: type,
// source and mount point ("ext4 /dev/vda at /").
func fsName(dir string) string {
	m, err := mountOf(dir)
	if err != nil {
		return "unknown filesystem (" + err.Error() + ")"
	}
	return fmt.Sprintf("%s %s at %s", m.FSType, m.Source, m.Mountpoint)
}

// mountOf is the mount holding path: the one with the longest mount point
// that is a prefix of it.
func mountOf(path string) (*mountinfo.Info, error) {
	abs, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return nil, err
	}
	var best *mountinfo.Info
	for _, m := range mounts {
		if under(abs, m.Mountpoint) && (best == nil || len(m.Mountpoint) >= len(best.Mountpoint)) {
			best = m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("no mount holds %s", abs)
	}
	return best, nil
}

func under(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// isMountpoint reports whether dir is itself a mount point (the loop ext4).
func isMountpoint(dir string) bool {
	m, err := mountOf(dir)
	return err == nil && m.Mountpoint == filepath.Clean(dir)
}

// unmountUnder detaches every mount below dir, deepest first, so a store a
// peer left mounted (podman's overlay) can be removed. Only our own temp
// dirs are ever passed here.
func unmountUnder(dir string) {
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return
	}
	slices.SortFunc(mounts, func(a, b *mountinfo.Info) int { return len(b.Mountpoint) - len(a.Mountpoint) })
	for _, m := range mounts {
		if under(m.Mountpoint, dir) { // PrefixFilter is a string prefix: x/a-1 also matches x/a-10
			_ = unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
		}
	}
}

// syncFS flushes dirty pages so one pull's writeback does not slow the next.
func syncFS() { unix.Sync() }

// kernel is the running kernel's release.
func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "?"
	}
	return unix.ByteSliceToString(u.Release[:])
}
