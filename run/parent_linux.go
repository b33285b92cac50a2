package run

// The parent side of `skiff run` (see docs/design.md for the protocol):
// seal our binary, start the init in new namespaces with one end of a
// SEQPACKET socketpair, put it in its cgroup, send the InitConfig, then
// read until EOF (exec happened), a pty master, or an InitResult.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/state"
)

// process is a started container's init as seen from the parent.
type process struct {
	cmd   *exec.Cmd
	cg    *cgroup.Cgroup
	pty   *os.File
	stdio *stdio
	sigs  chan os.Signal
	done  chan struct{} // closed when the signal relay returns
}

// relayed are the signals skiff passes on to the container's process, as
// docker's --sig-proxy does.
var relayed = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH}

// Start runs the container's process and starts relaying stdio and
// signals. On failure the container is left "created" with the exit code
// docker would report, and the error is a *StartError.
func (c *Container) Start() error {
	// Catch the relayed signals before the process exists: one that
	// arrives while we record the start must not kill skiff and orphan the
	// container. They are delivered once the relay runs. A monitor (c.IO
	// set) gets signals as attach frames instead.
	var sigs chan os.Signal
	if c.IO == nil {
		sigs = make(chan os.Signal, 16)
		signal.Notify(sigs, relayed...)
	}
	p, err := c.startInit()
	if err != nil {
		if sigs != nil {
			signal.Stop(sigs)
		}
		var se *StartError
		if !errors.As(err, &se) {
			se = &StartError{Code: 125, Err: err}
		}
		c.update(func(s *state.Container) { s.ExitCode = se.Code })
		return se
	}
	c.proc = p
	if sigs != nil {
		p.sigs = sigs
		c.relaySignals()
	}
	pid := p.cmd.Process.Pid
	start, _ := state.PidStartTime(pid)
	err = c.update(func(s *state.Container) {
		s.Status, s.Pid, s.PidStartTime, s.StartedAt = state.Running, pid, start, time.Now().UTC()
		s.ExitCode, s.FinishedAt = 0, time.Time{}
		if c.IO != nil {
			s.MonitorPid, s.MonitorStartTime = os.Getpid(), selfStartTime()
		}
	})
	if err != nil {
		// The process runs; only the record lags. Say so and carry on.
		fmt.Fprintln(os.Stderr, "skiff: warning:", err)
	}
	return nil
}

func (c *Container) startInit() (p *process, err error) {
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

	st, err := c.newStdio()
	if err != nil {
		child.Close()
		return nil, err
	}
	cmd := &exec.Cmd{
		Path:       exe.path(),
		Args:       []string{"skiff", InitArg},
		Env:        []string{}, // the host's environment never reaches the container
		Stdin:      st.in,
		Stdout:     st.out,
		Stderr:     st.err,
		ExtraFiles: []*os.File{child},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: ns.ContainerCloneFlags,
			// Its own session: never in the host terminal's foreground
			// group, so ^C reaches it only through our relay.
			Setsid: true,
		},
	}
	if c.IO == nil {
		// Without a monitor the container dies with skiff rather than
		// running unwatched. A monitor's container must outlive it.
		cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	}
	err = cmd.Start()
	child.Close()
	st.closeChildEnds()
	if err != nil {
		st.close()
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("start container init: %w (rootless containers are not supported yet: run skiff as root)", err)
		}
		return nil, fmt.Errorf("start container init: %w", err)
	}
	p = &process{cmd: cmd, stdio: st}
	defer func() {
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			st.close()
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
	if p.pty != nil && c.IO == nil {
		if err := st.attachPty(p.pty, c.opts); err != nil {
			return p, err
		}
	}
	st.startCopies()
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

// relaySignals forwards docker's proxied signals to the container's
// process; SIGWINCH with a pty resizes it instead (the kernel then signals
// the container's foreground group itself).
func (c *Container) relaySignals() {
	p := c.proc
	p.done = make(chan struct{})
	go func() {
		defer close(p.done)
		for sig := range p.sigs {
			if sig == unix.SIGWINCH && p.pty != nil {
				p.stdio.resize()
				continue
			}
			unix.Kill(p.cmd.Process.Pid, sig.(unix.Signal))
		}
	}()
}

// Wait waits for the container's process and its output, and returns its
// exit status as docker reports it (128+n when killed by signal n).
func (c *Container) Wait() int {
	p := c.proc
	p.cmd.Wait()
	if p.sigs != nil {
		signal.Stop(p.sigs)
		close(p.sigs)
		<-p.done
	}
	p.stdio.wait()
	p.stdio.close()
	if p.pty != nil && c.IO == nil {
		p.pty.Close() // a monitor drains the pty first and closes it itself
	}
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

// Run is `skiff run` without detach: create, start, wait, clean up.
func Run(img Image, o Options) (int, error) {
	c, err := Create(img, o)
	if err != nil {
		return 125, err
	}
	if err := c.Start(); err != nil {
		code := 125
		var se *StartError
		if errors.As(err, &se) {
			code = se.Code
		}
		if cerr := c.Cleanup(code); cerr != nil {
			fmt.Fprintln(os.Stderr, "skiff:", cerr)
		}
		return code, err
	}
	code := c.Wait()
	if err := c.Cleanup(code); err != nil {
		fmt.Fprintln(os.Stderr, "skiff: warning:", err)
	}
	return code, nil
}

// stdio connects the container's stdio to ours. The container never gets
// one of our terminal fds (a process could TIOCSTI into the host's shell,
// or keep it after we exit): a terminal is interposed with a pipe, and
// with -t the init hands us a pty of the container's own instead. Plain
// files and pipes are passed straight through.
type stdio struct {
	in, out, err *os.File // the child's ends (nil: /dev/null)
	childEnds    []*os.File
	copies       []func()
	outputs      sync.WaitGroup
	pty          *os.File
	rawState     *term.State
}

// newStdio is the monitor's pipes when c.IO is set, else relays to ours.
func (c *Container) newStdio() (*stdio, error) {
	if c.IO != nil {
		return &stdio{in: c.IO.In, out: c.IO.Out, err: c.IO.Err}, nil
	}
	return newStdio(c.opts)
}

func newStdio(o Options) (*stdio, error) {
	s := &stdio{}
	if o.Tty {
		return s, nil // the init's stdio become the pty slave
	}
	var err error
	if o.Interactive {
		if s.in, err = s.relayIn(os.Stdin); err != nil {
			return nil, err
		}
	}
	if s.out, err = s.relayOut(os.Stdout); err != nil {
		return nil, err
	}
	if s.err, err = s.relayOut(os.Stderr); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *stdio) relayIn(src *os.File) (*os.File, error) {
	if !term.IsTerminal(int(src.Fd())) {
		return src, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, r)
	s.copies = append(s.copies, func() {
		io.Copy(w, src)
		w.Close() // EOF on the container's stdin, as docker on ^D
	})
	return r, nil
}

func (s *stdio) relayOut(dst *os.File) (*os.File, error) {
	if !term.IsTerminal(int(dst.Fd())) {
		return dst, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	s.childEnds = append(s.childEnds, w)
	s.outputs.Add(1)
	s.copies = append(s.copies, func() {
		defer s.outputs.Done()
		io.Copy(dst, r)
		r.Close()
	})
	return w, nil
}

// attachPty relays our terminal to the container's pty: raw mode with
// -i on a terminal, window size copied now and on SIGWINCH.
func (s *stdio) attachPty(pty *os.File, o Options) error {
	s.pty = pty
	if o.Interactive {
		if term.IsTerminal(int(os.Stdin.Fd())) {
			st, err := term.MakeRaw(int(os.Stdin.Fd()))
			if err != nil {
				return fmt.Errorf("setting the terminal to raw mode: %w", err)
			}
			s.rawState = st
		}
		s.copies = append(s.copies, func() {
			io.Copy(pty, os.Stdin)
			// A pty has no half-close: end of our input becomes the
			// terminal's EOF character, as script(1) does for piped input.
			pty.Write([]byte{0x04})
		})
	}
	s.resize()
	s.outputs.Add(1)
	s.copies = append(s.copies, func() {
		defer s.outputs.Done()
		io.Copy(os.Stdout, pty) // ends with EIO once the last slave fd closes
	})
	return nil
}

// resize copies our terminal's window size to the container's pty.
func (s *stdio) resize() {
	for _, f := range []*os.File{os.Stdout, os.Stdin, os.Stderr} {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
		if err == nil {
			unix.IoctlSetWinsize(int(s.pty.Fd()), unix.TIOCSWINSZ, ws)
			return
		}
	}
}

func (s *stdio) startCopies() {
	for _, c := range s.copies {
		go c()
	}
}

func (s *stdio) closeChildEnds() {
	for _, f := range s.childEnds {
		f.Close()
	}
	s.childEnds = nil
}

// wait waits for the container's output to drain. Every process of the
// container dies with its pid 1, so the pipes and the pty reach EOF soon;
// the bound only guards against a holder we do not know of.
func (s *stdio) wait() {
	done := make(chan struct{})
	go func() { s.outputs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
}

// close restores the terminal; a stdin copy blocked in read is left to
// die with skiff.
func (s *stdio) close() {
	if s.rawState != nil {
		term.Restore(int(os.Stdin.Fd()), s.rawState)
		s.rawState = nil
	}
}
