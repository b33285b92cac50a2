package server

import (
	"os"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/run"
)

// stdio is one run's pipes without a terminal: the container's ends (in,
// out, errW) and ours (inW, outR, errR). With -t all are nil: the init
// makes a pty and sends us its master.
type stdio struct {
	in, out, errW   *os.File // the container's
	inW, outR, errR *os.File // ours
}

func newStdio(tty, openStdin bool) (*stdio, error) {
	s := &stdio{}
	if tty {
		return s, nil
	}
	var err error
	if openStdin {
		if s.in, s.inW, err = os.Pipe(); err != nil {
			return nil, err
		}
	}
	if s.outR, s.out, err = os.Pipe(); err == nil {
		s.errR, s.errW, err = os.Pipe()
	}
	if err != nil {
		s.closeChild()
		s.closeOurs()
		return nil, err
	}
	return s, nil
}

func (s *stdio) child() run.Stdio { return run.Stdio{In: s.in, Out: s.out, Err: s.errW} }

// closeChild closes our copies of the container's ends: once the init
// has them, EOF on ours means every holder in the container is gone.
func (s *stdio) closeChild() { closeFiles(s.in, s.out, s.errW) }

func (s *stdio) closeOurs() { closeFiles(s.inW, s.outR, s.errR) }

// prestarted is an init started before the container's record existed
// (run.PrestartInit), with the stdio run's flags said it needs.
type prestarted struct {
	hint monitor.Prestart
	io   *stdio
	init *run.PendingInit
}

func prestart(id string, hint monitor.Prestart) (*prestarted, error) {
	io, err := newStdio(hint.Tty, hint.OpenStdin)
	if err != nil {
		return nil, err
	}
	init, err := run.PrestartInit(id, io.child())
	if err != nil {
		io.closeChild()
		io.closeOurs()
		return nil, err
	}
	return &prestarted{hint: hint, io: io, init: init}, nil
}

// abort ends a prestarted init that will not run: killed, reaped, its
// cgroup removed. A nil p is nothing to do.
func (p *prestarted) abort() {
	if p == nil {
		return
	}
	p.init.Abort()
	p.io.closeChild()
	p.io.closeOurs()
}

// startInit starts c's init, the prestarted one if its stdio is the
// record's (always, for the run that spawned us), and returns our ends of
// its stdio. On failure nothing of the init is left, and the error is a
// *run.StartError when the init reported one.
func (m *server) startInit(c *container.Container) (*stdio, error) {
	pre := m.pending
	m.pending = nil
	cfg := c.State.Config
	// A prestarted init was born in skiff's own cgroup parent: a container
	// with --cgroup-parent is started afresh under its own.
	if pre != nil && (pre.hint != monitor.Prestart{Tty: cfg.Tty, OpenStdin: cfg.OpenStdin} || !c.OwnNamespaces() ||
		c.State.Host.Limits.CgroupParent != "" || c.FuseRoot()) {
		pre.abort()
		pre = nil
	}
	var io *stdio
	var err error
	if pre != nil {
		io = pre.io
		err = c.StartPending(pre.init)
	} else if io, err = newStdio(cfg.Tty, cfg.OpenStdin); err == nil {
		err = c.Start(io.child())
	} else {
		return nil, err
	}
	io.closeChild()
	if err != nil {
		io.closeOurs()
		return nil, err
	}
	return io, nil
}
