package monitor

// The client side of the monitor's two services for a rootless skiff
// outside a container's user namespace (monitor/server's cli.go is the
// other):
//
//	RunInside                          monitor
//	  RunCLI {Args, Env, Dir}  ------>   (SCM_RIGHTS: 0, 1, 2, skiff)
//	                                     starts skiff with them, in the
//	                                     container's user namespace
//	  Signal n (caught by us)  ------>   passes it to that CLI
//	                           <------   Done status | Failed "why"
//
//	SignalContainer
//	  Kill n                   ------>   kill(container's pid, n)
//	                           <------   Done 0 | Failed "why"
//
// Both are a connection's first frame; its answers have kinds of their
// own, since output and the container's Exit are broadcast to every
// connection until the monitor has read the request.

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/state"
)

// insideSignals are what RunInside passes on: docker's sig-proxy set, and
// SIGWINCH, which a -t CLI answers by reading its terminal's new size. The
// CLI is not in our terminal's session, so a key's SIGINT reaches only us
// and arrives there once.
var insideSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// RunInside has container c's monitor run skiff's CLI with args (args[0]
// included) inside the container's user namespace, where a rootless
// container's namespaces can be joined (a multi-threaded Go process cannot
// join a user namespace itself): the monitor starts the skiff binary it was
// handed, with our stdin, stdout, stderr, working directory and
// environment (ContainerEnvVar of package userns set to c's id), relays the
// signals we pass on, and RunInside returns its exit status (128+n when
// killed by signal n). For exec, and cp to or from a running container,
// of a rootless skiff.
func RunInside(runRoot string, c *state.Container, args []string) (int, error) {
	conn, err := dial(runRoot, c)
	if err != nil {
		return 125, err
	}
	defer conn.Close()
	// O_PATH: the monitor needs to execute the binary, not read it.
	fd, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return 125, fmt.Errorf("open skiff's binary for container %s's monitor: %w", shortid.Of(c.ID), err)
	}
	exe := os.NewFile(uintptr(fd), "skiff")
	defer exe.Close()
	dir, _ := os.Getwd() // "" (a removed directory): the monitor takes /
	req, err := json.Marshal(attach.CLIRequest{Args: args, Env: os.Environ(), Dir: dir})
	if err != nil {
		return 125, err
	}
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, insideSignals...)
	defer signal.Stop(sigs)
	stdio, err := openStdio()
	if err != nil {
		return 125, err
	}
	defer closeAll(stdio[3:])
	if err := attach.WriteFiles(conn, attach.RunCLI, req, []*os.File{stdio[0], stdio[1], stdio[2], exe}); err != nil {
		return 125, fmt.Errorf("send the command to container %s's monitor: %w", shortid.Of(c.ID), err)
	}
	exe.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigs:
				attach.Write(conn, attach.Signal, attach.Uint32(uint32(sig.(unix.Signal))))
			case <-done:
				return
			}
		}
	}()
	return answer(conn, c)
}

// SignalContainer has c's monitor send sig to the container's process: a
// rootless skiff outside the container's user namespace may not signal a
// process that runs as another of its ids (kill's EPERM); the monitor,
// inside, may. It returns once the signal is sent.
func SignalContainer(runRoot string, c *state.Container, sig unix.Signal) error {
	conn, err := dial(runRoot, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := attach.Write(conn, attach.Kill, attach.Uint32(uint32(sig))); err != nil {
		return fmt.Errorf("ask container %s's monitor for a signal: %w", shortid.Of(c.ID), err)
	}
	_, err = answer(conn, c)
	return err
}

// openStdio is os.Stdin, os.Stdout and os.Stderr, each replaced by
// /dev/null where it is closed (as a process we start would get it),
// followed by any such /dev/null opened, for the caller to close.
func openStdio() ([]*os.File, error) {
	out := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range out[:3] {
		if _, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err == nil {
			continue
		}
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			closeAll(out[3:])
			return nil, err
		}
		out[i] = null
		out = append(out, null)
	}
	return out, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func dial(runRoot string, c *state.Container) (*net.UnixConn, error) {
	conn, err := attach.Dial(state.SocketPath(runRoot, c.ID))
	if err != nil {
		return nil, fmt.Errorf("container %s has no monitor to ask (is it running?): %w", shortid.Of(c.ID), err)
	}
	return conn, nil
}

// answer reads frames until Done or Failed, skipping what the monitor
// broadcast to us before it read our request.
func answer(conn *net.UnixConn, c *state.Container) (int, error) {
	for {
		f, err := attach.Read(conn)
		if err != nil {
			return 125, fmt.Errorf("container %s's monitor hung up without an answer (the container may have stopped)", shortid.Of(c.ID))
		}
		switch f.Kind {
		case attach.Done:
			code, ok := attach.ParseUint32(f.Payload)
			if !ok {
				return 125, errors.New("container " + shortid.Of(c.ID) + "'s monitor sent a malformed answer")
			}
			return int(int32(code)), nil
		case attach.Failed:
			return 125, errors.New(string(f.Payload))
		}
	}
}
