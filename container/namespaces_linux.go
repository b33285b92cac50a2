package container

// The namespaces other than the network one that a container shares
// (--pid, --ipc, --uts): "container:<name>" resolved to the id at create;
// at each start the host's left out of the init's clone flags, and a
// running container's pinned (by pidfd) for the init to be born in.

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// recordNamespaces resolves --pid and --ipc container:<name|id> to the
// container's id, in o (for the config) and in the record h.
func (s Store) recordNamespaces(h *state.Host, o *spec.Options) error {
	sec := &o.Host.Security
	for _, mode := range []*string{&sec.PidMode, &sec.IpcMode} {
		ref := spec.ModeContainer(*mode)
		if ref == "" {
			continue
		}
		target, err := s.Lookup(ref)
		if err != nil {
			return err
		}
		*mode = spec.NetworkContainerPrefix + target.ID
	}
	h.Security = *sec
	return nil
}

// OwnNamespaces reports whether the container's init is born in new
// namespaces of every kind, as a prestarted init is.
func (c *Container) OwnNamespaces() bool {
	sec := c.State.Host.Security
	return c.OwnNetworkNamespace() && sec.UTSMode == "" && sec.PidMode == "" &&
		sec.IpcMode != spec.ModeHost && spec.ModeContainer(sec.IpcMode) == ""
}

// sharedNamespaces are this start's namespaces shared with the host or
// another container; done releases the pinned containers.
func (c *Container) sharedNamespaces() (sh run.Shared, done func(), err error) {
	done = func() {
		for _, j := range sh.Join {
			j.Target.Close()
		}
		if sh.ShmTree != nil {
			sh.ShmTree.Close()
		}
	}
	sec := c.State.Host.Security
	for _, m := range []struct {
		mode string
		flag int
	}{{sec.PidMode, unix.CLONE_NEWPID}, {sec.IpcMode, unix.CLONE_NEWIPC}, {sec.UTSMode, unix.CLONE_NEWUTS}} {
		if m.mode == spec.ModeHost {
			sh.Host |= uintptr(m.flag)
			continue
		}
		id := spec.ModeContainer(m.mode)
		if id == "" {
			continue
		}
		t, err := c.namespaceDonor(id, m.flag)
		if err != nil {
			done()
			return run.Shared{}, func() {}, err
		}
		sh.Join = append(sh.Join, run.Joined{Flag: m.flag, Target: t})
		if m.flag == unix.CLONE_NEWIPC {
			if sh.ShmTree, err = donorShm(t, id); err != nil {
				done()
				return run.Shared{}, func() {}, err
			}
		}
	}
	return sh, done, nil
}

// donorShm is a detached copy of the /dev/shm mount of t (container id's
// init), which a container joining its IPC namespace gets as its own, as
// docker binds the donor's. It is looked up in the donor's mount
// namespace, from a thread discarded afterwards, with no symlink followed,
// and must be a tmpfs: what the donor's processes did to their /dev can
// give the joiner nothing but a tmpfs of theirs.
func donorShm(t *ns.Target, id string) (*os.File, error) {
	var tree int
	err := ns.OnDiscardedThread(func() error {
		if err := t.Join(unix.CLONE_NEWNS); err != nil {
			return err
		}
		dir, err := unix.Openat2(unix.AT_FDCWD, "/dev/shm", &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err != nil {
			return err
		}
		defer unix.Close(dir)
		var st unix.Statfs_t
		if err := unix.Fstatfs(dir, &st); err != nil {
			return err
		}
		if st.Type != unix.TMPFS_MAGIC {
			return fmt.Errorf("not a tmpfs (filesystem type %#x)", st.Type)
		}
		tree, err = unix.OpenTree(dir, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("container %s: its /dev/shm: %w", id, err)
	}
	return os.NewFile(uintptr(tree), "shm of "+id), nil
}

// namespaceDonor pins the init of container id, whose pid or IPC
// namespace (flag) this one joins, with docker's refusals: it must run,
// and share its IPC namespace only if it can (shareableIPC).
func (c *Container) namespaceDonor(id string, flag int) (*ns.Target, error) {
	notRunning := fmt.Errorf("cannot join PID of a non running container: %s", id)
	if flag == unix.CLONE_NEWIPC {
		notRunning = fmt.Errorf("container %s is not running", id)
	}
	rec, err := state.Load(c.store.Root, id)
	if err != nil {
		return nil, notRunning
	}
	t, ok := pinRunning(rec)
	if !ok {
		return nil, notRunning
	}
	if flag == unix.CLONE_NEWIPC && !shareableIPC(rec.Host.Security.IpcMode) {
		t.Close()
		return nil, fmt.Errorf("container %s: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", id)
	}
	return t, nil
}

// shareableIPC reports whether a container in IPC mode may be joined:
// docker's rule is that its /dev/shm is one others can have, so
// shareable, the host's, or one it joined itself.
func shareableIPC(mode string) bool {
	return mode == spec.IpcShareable || mode == spec.ModeHost || spec.ModeContainer(mode) != ""
}

// pinRunning holds rec's init by pidfd if it runs and is still the
// process the record names (pid and start time).
func pinRunning(rec *state.Container) (*ns.Target, bool) {
	if !rec.Status.Up() || rec.Pid == 0 {
		return nil, false
	}
	t, err := ns.Open(rec.Pid)
	if err != nil {
		return nil, false
	}
	if st, err := proc.StartTime(rec.Pid); err != nil || st != rec.PidStartTime {
		t.Close()
		return nil, false
	}
	return t, true
}

// allCaps is spec.Input's AllCaps: read only for the flags that need it
// (the bounding set costs a syscall per capability).
func allCaps(sec state.SecurityFlags) []string {
	if !spec.NeedsAllCaps(sec) {
		return nil
	}
	return run.BoundingCaps()
}

// killOrphans SIGKILLs what is left in the cgroup of a container that has
// no pid namespace of its own (--pid host or container:): its init's
// exit takes no namespace, and so none of its processes, with it. runc
// does the same; the cgroup's removal then waits for them to go.
func (c *Container) killOrphans() {
	if c.State.Host.Security.PidMode != "" {
		killCgroup(c.State)
	}
}
