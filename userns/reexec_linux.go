package userns

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/skiff-dev/skiff/internal/timeline"
	"golang.org/x/sys/unix"
)

// StubArg is the hidden first argument of the stub Reexec starts in the new
// namespaces (dispatched by package roles): it waits until its maps are
// written, then executes the real program, which gets its capabilities in
// the namespace at that execve.
const StubArg = "__skiff_userns"

// stubSyncFd is the stub's end of the pipe on which Reexec says the maps
// are written (one byte; EOF: they never will be).
const stubSyncFd = 3

// Reexec runs self with args (args[0] included) again in a new user and
// mount namespace mapped by m, with EnvVar set, stdio and process group
// shared, and returns its exit status (128+N when a signal N ended it).
// stub is the program that carries StubMain (skiff-roles, or self).
// Signals a caller sends to us by pid are passed on; those a terminal
// sends to its foreground group reach the child as well as us, so with a
// terminal on stdin we pass none of SIGINT, SIGQUIT on (the child would
// get two).
func Reexec(stub, self string, args []string, m Mapping) (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 125, err
	}
	defer w.Close()
	u := m.User
	cmd := &exec.Cmd{
		Path:        stub,
		Args:        append([]string{args[0], StubArg, self}, args...),
		Env:         append(os.Environ(), EnvVar+"="+strconv.FormatUint(uint64(u.UID), 10)+":"+strconv.FormatUint(uint64(u.GID), 10)),
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		ExtraFiles:  []*os.File{r},
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS},
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, passedSignals()...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		r.Close()
		return 125, fmt.Errorf("enter a user namespace: %w", err)
	}
	r.Close()
	timeline.Mark("userns-cloned")
	if err := m.apply(cmd.Process.Pid); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 125, fmt.Errorf("map the user namespace: %w", err)
	}
	if _, err := w.Write([]byte{0}); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return 125, fmt.Errorf("enter a user namespace: %w", err)
	}
	w.Close()
	timeline.Mark("userns-mapped")
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	return exitStatus(cmd.ProcessState, err)
}

// apply is Apply, the seam tests replace.
var applyMaps = Apply

func (m Mapping) apply(pid int) error { return applyMaps(pid, m) }

// passedSignals are the signals Reexec passes on to the child.
func passedSignals() []os.Signal {
	sigs := []os.Signal{unix.SIGTERM, unix.SIGHUP, unix.SIGUSR1, unix.SIGUSR2}
	if _, err := unix.IoctlGetTermios(0, unix.TCGETS); err != nil {
		sigs = append(sigs, unix.SIGINT, unix.SIGQUIT)
	} else {
		// Ignored here: the terminal sends them to the child too, and
		// we must outlive the child to report its status.
		signal.Ignore(unix.SIGINT, unix.SIGQUIT)
	}
	return sigs
}

func exitStatus(ps *os.ProcessState, err error) (int, error) {
	if ps == nil {
		return 125, err
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ps.ExitCode(), nil
}

// StubMain is the stub's body (args is os.Args: args[1] is StubArg, args[2]
// the program, args[3:] its argv): it waits for Reexec's byte, then
// executes the program; it never returns.
func StubMain(args []string) {
	var b [1]byte
	n, _ := unix.Read(stubSyncFd, b[:])
	unix.Close(stubSyncFd)
	if n != 1 || len(args) < 4 {
		os.Exit(125) // the parent failed to map us and said so
	}
	err := unix.Exec(args[2], args[3:], os.Environ())
	fmt.Fprintf(os.Stderr, "skiff: enter a user namespace: exec %s: %v\n", args[2], err)
	os.Exit(125)
}
