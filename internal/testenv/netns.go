package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/vishvananda/netlink"
)

// ReexecInNetns runs this program again, same arguments, in a network
// namespace of its own with lo up, so that what it makes (skiff's bridge
// and nftables table, podman's, the veths of containers) never lands in
// the host's network; done is set and code is the copy's exit status.
// In the copy (marker is set in its environment) it brings lo up and
// returns done unset: the caller goes on there. Not root, or no
// namespace to be had: done unset and err says why; the caller goes on
// in the host's namespace.
//
// The whole process must move: a Go program cannot unshare its network
// namespace for all its threads, and every child it forks must be in it.
func ReexecInNetns(marker string) (code int, done bool, err error) {
	if os.Getenv(marker) != "" {
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			return 0, false, fmt.Errorf("lo up in the new network namespace: %w", err)
		}
		return 0, false, nil
	}
	if os.Geteuid() != 0 {
		return 0, false, errors.New("not root: no network namespace of its own")
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false, fmt.Errorf("re-exec into a network namespace: %w", err)
	}
	cmd := exec.Command(self, os.Args[1:]...)
	cmd.Env = append(os.Environ(), marker+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Pdeathsig: whoever kills this process (go test on its timeout)
	// must not leave the copy running. It fires when the forking thread
	// ends, so that thread stays locked to this goroutine, which waits.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return 0, false, fmt.Errorf("cannot make a network namespace: %w", err)
	}
	// What a terminal or go test sends is for the copy, which does the
	// work (SIGQUIT on go test's timeout dumps its goroutines; SIGINT
	// lets the bench clean up); this process only waits.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, true, nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), true, nil
	case errors.As(err, &ee):
		return 128 + int(ee.Sys().(syscall.WaitStatus).Signal()), true, nil
	default:
		fmt.Fprintln(os.Stderr, "the copy in its network namespace:", err)
		return 1, true, nil
	}
}
