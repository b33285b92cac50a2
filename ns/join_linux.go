package ns

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// JoinFlags are the namespaces `skiff exec` joins: every one a container is
// created with. The user namespace (rootless) is not here: a multi-threaded
// process cannot join one.
const JoinFlags = ContainerCloneFlags

// joinOrder is the order of the /proc/<pid>/ns fallback: mnt last, because
// after it /proc/<pid> may no longer be the same (or any) file.
var joinOrder = []struct {
	flag int
	name string
}{
	{unix.CLONE_NEWIPC, "ipc"}, {unix.CLONE_NEWUTS, "uts"}, {unix.CLONE_NEWNET, "net"},
	{unix.CLONE_NEWPID, "pid"}, {unix.CLONE_NEWNS, "mnt"},
}

// Target is a running process whose namespaces can be joined. It holds the
// process by pidfd, so a pid recycled after Open is never joined: check the
// process's identity (start time) after Open, not before.
type Target struct {
	pid   int
	pidfd int
	// files are /proc/<pid>/ns/* fds, opened only when the kernel cannot
	// setns on a pidfd (before 5.8), keyed by clone flag.
	files map[int]int
}

// Open pins pid: the namespaces joined later are those of this process
// (or Join fails if it has exited), never of a later owner of the pid.
func Open(pid int) (*Target, error) {
	fd, err := unix.PidfdOpen(pid, 0) // O_CLOEXEC by the kernel
	if err != nil {
		return nil, fmt.Errorf("open process %d: %w", pid, os.NewSyscallError("pidfd_open", err))
	}
	return &Target{pid: pid, pidfd: fd}, nil
}

// Close releases the pidfd and any namespace fds.
func (t *Target) Close() error {
	for _, fd := range t.files {
		unix.Close(fd)
	}
	t.files = nil
	if t.pidfd >= 0 {
		unix.Close(t.pidfd)
		t.pidfd = -1
	}
	return nil
}

// Join moves the calling OS thread into t's namespaces named in flags. The
// caller must have locked its goroutine to the thread and must never unlock
// it afterwards (the Go runtime then discards the thread when the goroutine
// exits): the thread no longer looks like the rest of the process. Join
// unshares the thread's fs struct first: setns into a mount namespace
// refuses a thread that shares it with the others.
func (t *Target) Join(flags int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("join namespaces of process %d: %w", t.pid, os.NewSyscallError("unshare", err))
	}
	// One call for all: atomic, and by pidfd, so the pid cannot be reused
	// under us.
	err := unix.Setns(t.pidfd, flags)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("join namespaces of process %d: %w", t.pid, os.NewSyscallError("setns", err))
	}
	return t.joinFiles(flags)
}

// joinFiles is Join for kernels that cannot setns on a pidfd: the ns files
// are opened while the pidfd still says the process lives, then joined.
func (t *Target) joinFiles(flags int) error {
	t.files = map[int]int{}
	for _, n := range joinOrder {
		if flags&n.flag == 0 {
			continue
		}
		p := fmt.Sprintf("/proc/%d/ns/%s", t.pid, n.name)
		fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("join namespaces of process %d: %w", t.pid, &os.PathError{Op: "open", Path: p, Err: err})
		}
		t.files[n.flag] = fd
	}
	// pidfd_send_signal with signal 0 fails once the process has exited:
	// then the files may belong to a recycled pid's process.
	if err := unix.PidfdSendSignal(t.pidfd, 0, nil, 0); err != nil {
		return fmt.Errorf("join namespaces of process %d: it exited", t.pid)
	}
	for _, n := range joinOrder {
		fd, ok := t.files[n.flag]
		if !ok {
			continue
		}
		if err := unix.Setns(fd, n.flag); err != nil {
			return fmt.Errorf("join %s namespace of process %d: %w", n.name, t.pid, os.NewSyscallError("setns", err))
		}
	}
	return nil
}

// OnJoinedThread runs fn on a new OS thread that has joined t's namespaces
// (flags) and returns fn's error. The thread is thrown away afterwards.
// Processes started by fn (os/exec forks from the calling thread) are born
// in those namespaces; for a pid namespace that is the only way in.
func (t *Target) OnJoinedThread(flags int, fn func() error) error {
	return OnDiscardedThread(func() error {
		if err := t.Join(flags); err != nil {
			return err
		}
		return fn()
	})
}

// OnDiscardedThread runs fn on a new OS thread of its own, never the main
// one, that is ended after fn returns: fn may change what a thread carries
// and a process it forks inherits (namespaces, cgroups), and no other
// goroutine ever runs there. It returns fn's error.
func OnDiscardedThread(fn func() error) error {
	errc := make(chan error, 1)
	var onThread func()
	onThread = func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Never the main thread: /proc/self and the mountinfo every
			// later lookup reads (cgroup.Hierarchies, say) are its, and Go
			// cannot end it, so it would keep what fn changed. Hold it, so
			// that the retry lands elsewhere.
			done := make(chan struct{})
			go func() { defer close(done); onThread() }()
			<-done
			runtime.UnlockOSThread() // clean: fn did not run here
			return
		}
		// No UnlockOSThread: the goroutine's exit ends the dirty thread.
		errc <- fn()
	}
	go onThread()
	return <-errc
}
