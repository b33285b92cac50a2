package run

// The parent side of a container's init, run by the container's monitor
// (see docs/design.md for the protocol): seal our binary, start the init
// in new namespaces with one end of a SEQPACKET socketpair, put it in its
// cgroup, send the InitConfig, then read until EOF (exec happened), a pty
// master, or an InitResult.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// process is a started container's init as seen from its monitor.
type process struct {
	cmd *exec.Cmd
	cg  *cgroup.Cgroup
	pty *os.File
}

// Start runs the container's process with streams as its stdio (with -t the
// init makes its pty slave the stdio instead and Pty returns the master).
// Only the container's monitor starts it: the record names the calling
// process as the monitor. On failure the container is left "created" with
// the exit code docker would report, and the error is a *StartError.
func (c *Container) Start(streams Stdio) error {
	p, err := c.startInit(streams)
	if err != nil {
		var se *StartError
		if !errors.As(err, &se) {
			se = &StartError{Code: 125, Err: err}
		}
		c.update(func(s *state.Container) { s.ExitCode = se.Code })
		return se
	}
	c.proc = p
	pid := p.cmd.Process.Pid
	start, _ := proc.StartTime(pid)
	err = c.update(func(s *state.Container) {
		s.Status, s.Pid, s.PidStartTime, s.StartedAt = state.Running, pid, start, time.Now().UTC()
		s.ExitCode, s.FinishedAt = 0, time.Time{}
		s.MonitorPid, s.MonitorStartTime = proc.Self()
	})
	if err != nil {
		// The process runs; only the record lags. Say so and carry on.
		fmt.Fprintln(os.Stderr, "skiff: warning:", err)
	}
	return nil
}

func (c *Container) startInit(streams Stdio) (p *process, err error) {
	exe, err := sealSelf()
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	sock, child, err := syncPair("sync-init")
	if err != nil {
		return nil, err
	}
	defer sock.Close()

	cmd := &exec.Cmd{
		Path:       exe.path(),
		Args:       []string{"skiff", InitArg},
		Env:        []string{}, // the host's environment never reaches the container
		Stdin:      streams.In,
		Stdout:     streams.Out,
		Stderr:     streams.Err,
		ExtraFiles: []*os.File{child},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: ns.ContainerCloneFlags,
			// Its own session: never in the host terminal's foreground
			// group, so ^C reaches it only through our relay.
			Setsid: true,
		},
	}
	err = cmd.Start()
	child.Close()
	if err != nil {
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("start container init: %w (rootless containers are not supported yet: run skiff as root)", err)
		}
		return nil, fmt.Errorf("start container init: %w", err)
	}
	p = &process{cmd: cmd}
	defer func() {
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			if p.cg != nil {
				p.cg.Delete()
			}
			if p.pty != nil {
				p.pty.Close()
			}
		}
	}()
	if err := sendConfig(sock, c.initConfig()); err != nil {
		return p, err
	}
	// The init builds the rootfs while we place it in its cgroup: on
	// cgroup v1 the first move waits for an RCU grace period (~5 ms), as
	// long as the whole rootfs setup. It execs only after our go.
	if p.cg, err = cgroup.New(c.State.ID); err != nil {
		return p, err
	}
	if err := p.cg.Add(cmd.Process.Pid); err != nil {
		return p, err
	}
	sendGo(sock)
	if p.pty, err = awaitExec(sock, cmd); err != nil {
		return p, err
	}
	return p, nil
}

// syncPair is the parent's and the child's ends of a sync socket
// (SOCK_SEQPACKET: one message per write); the child's goes in ExtraFiles.
func syncPair(childName string) (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), childName), nil
}

func sendConfig(sock *os.File, cfg *InitConfig) error {
	b, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encoding init config: %w", err)
	}
	if _, err := unix.Write(int(sock.Fd()), b); err != nil {
		return fmt.Errorf("sending init config (%d bytes): %w", len(b), err)
	}
	return nil
}

// sendGo lets the init exec. An init that already failed has closed its
// end; its InitResult is still queued for awaitExec, so the error is moot.
func sendGo(sock *os.File) {
	unix.Sendmsg(int(sock.Fd()), []byte(goMsg), nil, nil, unix.MSG_NOSIGNAL)
}

// awaitExec reads the init's messages until the socket closes (the init
// exec'd the user's process). It returns the pty master if one was sent.
func awaitExec(sock *os.File, cmd *exec.Cmd) (pty *os.File, err error) {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return pty, fmt.Errorf("reading from container init: %w", err)
		}
		if fds := rights(oob[:oobn]); len(fds) > 0 {
			if string(buf[:n]) != ptyMasterMsg || pty != nil {
				closeAll(fds)
				return pty, errors.New("container init sent an unexpected file descriptor")
			}
			pty = os.NewFile(uintptr(fds[0]), "pty-master")
			closeAll(fds[1:])
			continue
		}
		if n == 0 {
			return pty, nil
		}
		var res InitResult
		if err := json.Unmarshal(buf[:n], &res); err != nil {
			return pty, fmt.Errorf("container init sent a bad message: %w", err)
		}
		cmd.Wait() // the init exits right after reporting
		if res.Code == 0 {
			res.Code = 125
		}
		return pty, &StartError{Code: res.Code, Err: errors.New(res.Msg)}
	}
}

func rights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for _, m := range msgs {
		if f, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, f...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// Wait waits for the container's process and returns its exit status as
// docker reports it (128+n when killed by signal n). The monitor drains
// the container's output (pipes or pty) and closes its ends itself.
func (c *Container) Wait() int {
	p := c.proc
	p.cmd.Wait()
	return exitCode(p.cmd.ProcessState)
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Cleanup removes the cgroup and records the exit; with --rm it removes
// the container.
func (c *Container) Cleanup(code int) error {
	var errs []error
	if c.proc != nil && c.proc.cg != nil {
		errs = append(errs, c.proc.cg.Delete())
	} else if cg, err := cgroup.Load(c.State.ID); err == nil {
		errs = append(errs, cg.Delete())
	}
	// The exit is recorded even with --rm: rm of a record that says
	// running would wait for this very process to record it.
	errs = append(errs, c.update(func(s *state.Container) {
		if s.Status.Up() || s.Status == state.Restarting {
			s.Status = state.Exited
		}
		s.Pid, s.PidStartTime, s.ExitCode, s.FinishedAt = 0, 0, code, time.Now().UTC()
		s.MonitorPid, s.MonitorStartTime = 0, 0
	}))
	if c.opts.Remove {
		errs = append(errs, remove(c.opts.Root, c.opts.RunRoot, c.State.ID))
	}
	return errors.Join(errs...)
}
