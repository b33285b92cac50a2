package container

// A container's devices, resolved from the record at each start as docker
// does (a --device node may have changed since create, --privileged copies
// the host's /dev as it is now): the nodes the init makes in the
// container's tree (rootfs.MakeDevices) and the rules its cgroup enforces
// (cgroup.SetDevices), put in force by the start's pre-exec hook, before
// the container's process runs a single instruction.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

// deviceSet is what a start resolved of the container's device flags.
type deviceSet struct {
	nodes []specs.LinuxDevice       // made in the container by its init
	rules []specs.LinuxDeviceCgroup // its cgroup's, over "deny all"
}

// errNotADevice is docker's word for a path that is no device node.
var errNotADevice = errors.New("not a device node")

// resolveDevices turns the record's flags into nodes and rules: docker's
// allow-list, each --device's node, each --device-cgroup-rule; with
// --privileged every device node of the host's /dev and "a *:* rwm".
func resolveDevices(sec state.SecurityFlags) (deviceSet, error) {
	var set deviceSet
	if sec.Privileged {
		nodes, err := hostDevices("/dev")
		if err != nil {
			return set, err
		}
		set.nodes = nodes
	}
	var mapped []specs.LinuxDeviceCgroup
	for _, m := range sec.Devices {
		nodes, err := mappedDevices(m)
		if err != nil {
			return set, err
		}
		for _, n := range nodes {
			set.nodes = append(set.nodes, n)
			mapped = append(mapped, cgroup.Rule(true, n.Type, n.Major, n.Minor, m.CgroupPermissions))
		}
	}
	if sec.Privileged { // docker's: every device, whatever else was asked
		set.rules = []specs.LinuxDeviceCgroup{cgroup.AllowAll()}
		return set, nil
	}
	set.rules = append(cgroup.DefaultDevices(), mapped...)
	for _, s := range sec.DeviceCgroupRules {
		r, err := cgroup.ParseRule(s)
		if err != nil {
			return set, err
		}
		set.rules = append(set.rules, r)
	}
	return set, nil
}

// mappedDevices is one --device: the node at PathOnHost (a symlink
// followed, as /dev/disk/by-id/... are), or every node below it when it is
// a directory, each at PathInContainer. docker's error when there is none.
func mappedDevices(m state.DeviceMapping) ([]specs.LinuxDevice, error) {
	host := m.PathOnHost
	if resolved, err := filepath.EvalSymlinks(host); err == nil {
		host = resolved
	}
	d, err := deviceAt(host, m.PathInContainer)
	if err == nil {
		return []specs.LinuxDevice{d}, nil
	}
	var nodes []specs.LinuxDevice
	if fi, serr := os.Stat(host); errors.Is(err, errNotADevice) && serr == nil && fi.IsDir() {
		filepath.WalkDir(host, func(p string, _ fs.DirEntry, _ error) error {
			if d, err := deviceAt(p, m.PathInContainer+strings.TrimPrefix(p, host)); err == nil {
				nodes = append(nodes, d)
			}
			return nil
		})
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("error gathering device information while adding custom device %q: %w", m.PathOnHost, err)
	}
	return nodes, nil
}

// deviceAt describes the host's device node p (not followed) as the node
// the init makes at ctr: its type, number, mode and owner.
func deviceAt(p, ctr string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, errNotADevice
	}
	mode := os.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: ctr, Type: typ, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// hostSkipped are the directories of /dev whose nodes docker does not copy
// into a privileged container (the container has its own pts, shm and
// mqueue; fd is /proc's).
var hostSkipped = map[string]bool{"pts": true, "shm": true, "fd": true, "mqueue": true, ".lxc": true, ".lxd-mounts": true, ".udev": true}

// hostDevices is every device node below dir (--privileged), at the same
// path in the container; /dev/console is the container's own.
func hostDevices(dir string) ([]specs.LinuxDevice, error) {
	var nodes []specs.LinuxDevice
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // vanished meanwhile, or unreadable: not copied
		}
		if e.IsDir() && p != dir && hostSkipped[e.Name()] {
			return filepath.SkipDir
		}
		if e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 || p == "/dev/console" {
			return nil
		}
		if d, err := deviceAt(p, p); err == nil {
			nodes = append(nodes, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the host's devices: %w", err)
	}
	return nodes, nil
}

// withDevices wraps a start's pre-exec hook: the container's device rules
// in force in its cgroup first (set by initConfig, which runs before the
// hook), so its process never runs one instruction without them.
func (c *Container) withDevices(setup func(pid int) error) func(pid int) error {
	return func(pid int) error {
		if c.devices == nil {
			return errors.New("start: the container's devices were not resolved")
		}
		cg, err := CgroupOf(c.State)
		if err != nil {
			return err
		}
		if err := cg.SetDevices(c.devices.rules); err != nil {
			return err
		}
		if setup == nil {
			return nil
		}
		return setup(pid)
	}
}
