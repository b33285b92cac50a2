package run

// docker run --init: instead of exec-ing the user's process, the init
// starts it as its only child and stays as the container's PID 1, doing
// tini's job: forward every signal it gets to the child and reap every
// zombie the container's orphans leave, then exit with the child's status.
//
// The child is forked from the init's locked thread, which already carries
// the container's user, bounding set, capabilities, no_new_privs and
// working directory, so it starts exactly as an exec'd process would. The
// init itself then keeps nothing worth attacking: it is not dumpable (a
// container process can neither ptrace it nor open /proc/1/exe, skiff's
// sealed binary), and every one of its threads drops to the container's
// user with no capabilities at all.

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/rootfs"
)

// notForwarded are the signals tini leaves alone: SIGCHLD is the reaper's
// own, SIGKILL and SIGSTOP cannot be caught, the synchronous ones concern
// the init itself, SIGTTIN/SIGTTOU are the terminal's business, and SIGURG
// is how the Go runtime preempts its threads (forwarding it would flood
// the child with signals it never asked for).
var notForwarded = map[unix.Signal]bool{
	unix.SIGCHLD: true, unix.SIGKILL: true, unix.SIGSTOP: true,
	unix.SIGFPE: true, unix.SIGILL: true, unix.SIGSEGV: true, unix.SIGBUS: true,
	unix.SIGABRT: true, unix.SIGTRAP: true, unix.SIGSYS: true,
	unix.SIGTTIN: true, unix.SIGTTOU: true, unix.SIGURG: true,
	// glibc's internal real-time signals (cancellation, setxid).
	unix.Signal(32): true, unix.Signal(33): true,
}

// forwardedSignals is every signal 1..64 not in notForwarded.
func forwardedSignals() []os.Signal {
	var out []os.Signal
	for s := unix.Signal(1); s <= 64; s++ {
		if !notForwarded[s] {
			out = append(out, s)
		}
	}
	return out
}

// runTini starts the user's process as the init's child and supervises it;
// it returns only if the child could not be started.
func runTini(path string, args, env []string, tty bool, u execUser) *initError {
	sigs := make(chan os.Signal, 64)
	// Before the fork: a signal or a child's death in between is queued.
	signal.Notify(sigs, append(forwardedSignals(), unix.SIGCHLD)...)
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return setupErr(fmt.Errorf("set non-dumpable: %w", err))
	}
	// ps in the container would show the sealed binary's fd number
	// ("100") as PID 1's name (the child's becomes its program's at
	// exec). Through a checked procfs, not the container's /proc, where a
	// file bound over comm would take the write (CVE-2025-52881); a
	// failure only leaves the name. Before the fork, so nothing of ours
	// (the sync socket) stays open longer once the user's process runs.
	rootfs.WriteProcFile("self/comm", []byte("skiff-init"))
	child, err := syscall.ForkExec(path, args, &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		// Its own process group, in the terminal's foreground with -t, so
		// ^C on the container's terminal reaches it and not us.
		Sys: &syscall.SysProcAttr{Setpgid: true, Foreground: tty, Ctty: 0},
	})
	if err != nil {
		return execFailure(args[0], err)
	}
	if err := dropInitPrivileges(u); err != nil {
		unix.Kill(child, unix.SIGKILL)
		return setupErr(err)
	}
	// The user's process runs: closing the sync socket tells the parent,
	// as the close-on-exec does without --init.
	unix.Close(syncFd)
	os.Exit(supervise(child, sigs))
	return nil
}

// supervise forwards signals to child and reaps every process that dies
// under us; it returns child's status (128+n when killed by signal n).
func supervise(child int, sigs <-chan os.Signal) int {
	for sig := range sigs {
		s := sig.(unix.Signal)
		if s != unix.SIGCHLD {
			// ESRCH: the child is dying; its SIGCHLD is on its way.
			unix.Kill(child, s)
			continue
		}
		if code, done := reap(child); done {
			return code
		}
	}
	return 0 // not reached: sigs is never closed
}

// reap collects every zombie waiting (one SIGCHLD may stand for many) and
// reports child's status once child is among them.
func reap(child int) (code int, done bool) {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return code, done
		}
		if pid == child {
			done = true
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
		}
	}
}

// dropInitPrivileges gives every thread of the init (not only the locked
// one that forked the child) the container user's ids and no capability,
// so PID 1 is no more powerful than anything else in the container.
func dropInitPrivileges(u execUser) error {
	groups := make([]int, len(u.Groups))
	for i, g := range u.Groups {
		groups[i] = int(g)
	}
	// syscall's credential calls apply to every thread (Go >= 1.16).
	if err := syscall.Setgroups(groups); err != nil && err != syscall.EPERM {
		return fmt.Errorf("init: setgroups %v: %w", u.Groups, err)
	}
	if err := syscall.Setresgid(int(u.GID), int(u.GID), int(u.GID)); err != nil {
		return fmt.Errorf("init: setresgid %d: %w", u.GID, err)
	}
	if err := syscall.Setresuid(int(u.UID), int(u.UID), int(u.UID)); err != nil {
		return fmt.Errorf("init: setresuid %d: %w", u.UID, err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData // all sets empty
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET,
		uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e == syscall.ENOTSUP {
		// A cgo build (go test by hand; skiff itself is CGO_ENABLED=0)
		// cannot reach every thread: drop them on this one at least.
		e = 0
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			e = err.(syscall.Errno)
		}
	}
	if e != 0 {
		return fmt.Errorf("init: drop capabilities: %w", e)
	}
	// A credential change resets dumpable to fs.suid_dumpable, which an
	// admin may have set to 1: make sure it is 0.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("init: set non-dumpable: %w", err)
	}
	return nil
}
