package run

// The parent side of a container's init, for the container's monitor
// (package container records it): start it by the one start path
// (start_linux.go), give its pid, pty and cgroup, and wait for it.

import (
	"os"
	"syscall"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/ns"
)

// StartError is a failure with docker's exit status for it: 125 skiff (or
// the container's setup) failed, 126 the command cannot be executed, 127
// it was not found.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Stdio are the container's ends of its stdin, stdout and stderr (the
// monitor's pipes; nil: /dev/null); the caller closes its copies once
// StartInit returns.
type Stdio struct{ In, Out, Err *os.File }

// Process is a container's started init as its parent sees it.
type Process struct{ p *process }

// Network says which network namespace a container's init is born in, and
// what is done to it before the init may exec.
type Network struct {
	// Host: the host's namespace (InitConfig.HostNetwork). Join: that
	// running process's (--network container:NAME; the caller closes it).
	// Neither: a new one.
	Host bool
	Join *ns.Target
	// Setup runs once the init has its config, before it may exec (pid:
	// the init's): the monitor wires the new namespace then, while the
	// init builds its root. Its error aborts the start.
	Setup func(pid int) error
	// Shared are the other namespaces not new to the init (--pid, --ipc,
	// --uts): a prestarted init has all its own, so such a container is
	// started by StartInit.
	Shared Shared
}

// StartInit starts container id's init with cfg and streams as its stdio
// (with -t the init makes its pty slave the stdio instead, and Pty returns
// the master). On failure nothing of it is left, and the error is what
// the child reported (a *StartError with docker's status) or skiff's own.
func StartInit(id string, cfg *InitConfig, streams Stdio, net Network) (*Process, error) {
	s := initSpawn(id, streams)
	s.hostNetwork, s.netOf = cfg.HostNetwork || net.Host, net.Join
	s.shared = net.Shared
	cfg.SharedShm = net.Shared.ShmTree != nil
	s.cgroupParent, s.delegation = cfg.CgroupParent, cfg.Delegation
	b, err := s.begin()
	if err != nil {
		return nil, err
	}
	return (&PendingInit{b: b}).Start(cfg, net.Setup)
}

func initSpawn(id string, streams Stdio) *spawn {
	return &spawn{
		role: InitArg, what: "container init", id: id,
		stdin: streams.In, stdout: streams.Out, stderr: streams.Err,
	}
}

// PendingInit is a container's init started before its config exists: it
// starts up, and joins its cgroup, while it waits for Start or Abort.
type PendingInit struct{ b *begun }

// PrestartInit starts container id's init (in its new namespaces, a
// network one too, and cgroup, streams its stdio as for StartInit) without
// its config: the caller gives it with Start, or ends it with Abort.
func PrestartInit(id string, streams Stdio) (*PendingInit, error) {
	b, err := initSpawn(id, streams).begin()
	if err != nil {
		return nil, err
	}
	return &PendingInit{b: b}, nil
}

// Start gives the init its config and lets it exec, as StartInit; setup
// (may be nil) runs before it may exec, as Network.Setup.
func (p *PendingInit) Start(cfg *InitConfig, setup func(pid int) error) (*Process, error) {
	p.b.s.beforeGo = setup
	if cfg.Delegation != nil && p.b.s.delegation == nil { // prestarted, not by StartInit
		if err := p.b.moveToDelegated(cfg.Delegation); err != nil {
			p.Abort()
			return nil, err
		}
	}
	cfg.Cgroups = p.b.p.cg.Views()
	proc, err := p.b.finish(cfg)
	if err != nil {
		return nil, err
	}
	return &Process{p: proc}, nil
}

// moveToDelegated moves a prestarted init, born before its record said
// where its cgroup goes, into a rootless container's cgroup below the
// delegated subtree d. Rootless, the cgroup it was born in (under each
// hierarchy's root) is empty: none of them is the user's to write. It has
// run skiff's start-up only, waiting for its config, so no limit is late.
func (b *begun) moveToDelegated(d *cgroup.Delegation) error {
	cg, err := newDelegated(d, b.s.id)
	if err != nil {
		return err
	}
	if err := cg.Add(b.p.cmd.Process.Pid); err != nil {
		cg.Delete()
		return err
	}
	b.p.cg.Delete()
	b.p.cg, b.s.delegation = cg, d
	return nil
}

// Abort kills and reaps the init and removes its cgroup.
func (p *PendingInit) Abort() {
	p.b.abort()
	p.b.sock.Close()
}

// Pid is the init's pid.
func (p *Process) Pid() int { return p.p.cmd.Process.Pid }

// Pty is the master of the container's terminal with -t, else nil.
func (p *Process) Pty() *os.File { return p.p.pty }

// Wait waits for the init and returns its exit status as docker reports
// it (128+n when killed by signal n). The monitor drains the container's
// output (pipes or pty) and closes its ends itself.
func (p *Process) Wait() int {
	p.p.cmd.Wait()
	return exitCode(p.p.cmd.ProcessState)
}

// DeleteCgroup removes the cgroup the init was started in.
func (p *Process) DeleteCgroup() error {
	if p.p.cg == nil {
		return nil
	}
	return p.p.cg.Delete()
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
