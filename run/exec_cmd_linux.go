package run

// The CLI side of `skiff exec` (docs/design.md): pin the container's init
// by pidfd and check it is still the recorded process, join its mnt, pid,
// uts, ipc and net namespaces from a locked thread that then forks the
// sealed skiff as __skiff_exec (a pid namespace only applies to children,
// so the process must be born from that thread), put the child in the
// container's cgroup, send it an ExecConfig, let it exec, relay stdio and
// signals, and exit with its status.
//
// Everything the child gets from the host (stdio, /dev/null, the sealed
// binary, the sync socket) is opened before the join: after it, a path
// names the container's files, and a hostile container's /dev/null could
// be any device node.

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/seccomp"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// ExecOptions are docker exec's flags that skiff supports.
type ExecOptions struct {
	Args []string // command and arguments
	// Env holds --env-file lines then -e values, in order: "K=V", or "K"
	// to take the caller's value.
	Env         []string
	User        string // "" : the container's user
	Workdir     string // "" : the container's working directory
	Interactive bool
	Tty         bool
	Detach      bool
	// Privileged (exec --privileged) gives the process every capability
	// of skiff's bounding set; the container's seccomp filter stays, as
	// docker's.
	Privileged bool
	// SeccompCache is where compiled filters are kept (seccomp.Cached).
	SeccompCache string
}

// NotRunningError is exec's refusal of a container that is not running.
type NotRunningError struct {
	ID string
	// Paused: exec refuses a paused container in docker's own words.
	Paused bool
}

func (e *NotRunningError) Error() string {
	if e.Paused {
		return "Container " + e.ID + " is paused, unpause the container before exec"
	}
	return "container " + e.ID + " is not running"
}

// Exec is `skiff exec`: it runs o.Args in running container c (its
// record, as container.Store.Lookup found it; its config.json in dir) and
// returns the process's exit status (0 at once with Detach). Errors: a
// *NotRunningError, or a *StartError with docker's status (126 cannot be
// executed or set up, 127 not found).
func Exec(c *state.Container, dir string, o ExecOptions) (int, error) {
	if c.Status != state.Running || c.Pid <= 0 {
		return 1, &NotRunningError{ID: c.ID, Paused: c.Status == state.Paused}
	}
	if linkedDynamically {
		return 126, &StartError{Code: 126, Err: errors.New("exec needs a statically linked skiff (its process starts inside the container, where the host's libc is not): build it with CGO_ENABLED=0, as make does")}
	}
	if os.Geteuid() != 0 {
		// A rootless skiff joins a container from inside its user
		// namespace, where it is uid 0: skiff exec has the container's
		// monitor run it there (monitor.RunInside). Out here a Go
		// process could not join that namespace.
		return 126, &StartError{Code: 126, Err: errors.New("exec of a rootless container runs in its user namespace: use skiff exec, which has the container's monitor run it there")}
	}
	cfg, err := execConfig(o, c, dir)
	if err != nil {
		return 126, &StartError{Code: 126, Err: err}
	}
	target, err := ns.Open(c.Pid)
	if err != nil {
		return 1, &NotRunningError{ID: c.ID}
	}
	defer target.Close()
	// Pinned by pidfd now: if the start time still matches, the pidfd is
	// the container's init, whatever happens to the pid later.
	if !proc.Alive(c.Pid, c.PidStartTime) {
		return 1, &NotRunningError{ID: c.ID}
	}
	p, err := startExec(target, c, cfg, o)
	if err != nil {
		var se *StartError
		if !errors.As(err, &se) {
			se = &StartError{Code: 126, Err: err}
		}
		return se.Code, se
	}
	if o.Detach {
		p.stdio.close()
		return 0, nil
	}
	return p.wait(), nil
}

// execConfig is the container's process (config.json) with exec's
// changes: docker's exec keeps the container's env, user, working
// directory and capabilities unless -e, -u, -w say otherwise.
func execConfig(o ExecOptions, c *state.Container, dir string) (*ExecConfig, error) {
	proc, rawFilter, err := spec.ReadExecSettings(dir, c.ID)
	if err != nil {
		return nil, err
	}
	if proc == nil {
		proc = &specs.Process{Cwd: "/"}
	}
	filter, err := seccomp.Cached(o.SeccompCache, rawFilter)
	if err != nil {
		return nil, fmt.Errorf("container %s: its seccomp filter: %w", c.ID, err)
	}
	out := &specs.Process{
		Args: o.Args, Terminal: o.Tty && !o.Detach, Cwd: proc.Cwd,
		Capabilities: proc.Capabilities, NoNewPrivileges: proc.NoNewPrivileges, Rlimits: proc.Rlimits,
		Env: execEnv(proc.Env, o, os.LookupEnv),
	}
	if o.Privileged {
		all := boundingCaps()
		out.Capabilities = &specs.LinuxCapabilities{Bounding: all, Permitted: all, Effective: all}
	}
	if o.Workdir != "" {
		if !filepath.IsAbs(o.Workdir) {
			return nil, fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", o.Workdir)
		}
		out.Cwd = filepath.Clean(o.Workdir)
	}
	user := c.Config.User
	if o.User != "" {
		user = o.User
	}
	return &ExecConfig{Process: out, User: user, GroupAdd: c.Host.Security.GroupAdd, Seccomp: filter}, nil
}

// execEnv is docker's: TERM=xterm with -t unless the container sets TERM,
// the container's env, then --env-file and -e values.
func execEnv(base []string, o ExecOptions, lookup func(string) (string, bool)) []string {
	env := append([]string{}, base...)
	if o.Tty && spec.IndexEnv(env, "TERM") < 0 {
		env = append(env, "TERM=xterm")
	}
	return spec.MergeEnv(env, o.Env, lookup)
}

// execProc is a started exec'd process as seen from the CLI.
type execProc struct {
	*process
	stdio *stdio
	sigs  chan os.Signal
}

func startExec(target *ns.Target, c *state.Container, cfg *ExecConfig, o ExecOptions) (*execProc, error) {
	st, err := execStdio(o)
	if err != nil {
		return nil, err
	}
	p := &execProc{stdio: st, sigs: make(chan os.Signal, 16)}
	// Catch the relayed signals before the process exists, as run does.
	if !o.Detach {
		signal.Notify(p.sigs, relayed...)
	}
	s := &spawn{
		role: ExecArg, what: "the exec process", id: c.ID, config: cfg,
		stdin: st.in, stdout: st.out, stderr: st.err, join: target,
		cgroupParent: c.Host.Limits.CgroupParent,
		joinCgroupNS: c.Host.Limits.CgroupnsMode == "private",
		delegation:   cgroup.Recorded(c.Host.Limits.CgroupMount, c.Host.Limits.CgroupSubtree),
	}
	p.process, err = s.start()
	st.closeChildEnds()
	if err == nil {
		err = p.relay(o)
	}
	if err != nil {
		signal.Stop(p.sigs)
		st.close()
		return nil, err
	}
	return p, nil
}

// relay connects our stdio to the started process (its pty with -t) and
// starts relaying signals; with -d there is nothing to relay.
func (p *execProc) relay(o ExecOptions) error {
	if o.Detach {
		if p.pty != nil {
			p.pty.Close()
		}
		return nil
	}
	if p.pty != nil {
		if err := p.stdio.attachPty(p.pty, o.Interactive); err != nil {
			p.abort(false)
			return err
		}
	}
	p.stdio.startCopies()
	go p.relaySignals()
	return nil
}

// execStdio is run's stdio relay, with every end the child gets opened
// here on the host: nil ends become our /dev/null (os/exec would open
// /dev/null on the joined thread, in the container's mount namespace).
// -d gets /dev/null for all three, as docker's detached exec.
func execStdio(o ExecOptions) (*stdio, error) {
	st := &stdio{}
	if !o.Detach {
		var err error
		if st, err = newStdio(o.Interactive, o.Tty); err != nil {
			return nil, err
		}
	}
	for _, f := range []**os.File{&st.in, &st.out, &st.err} {
		if *f != nil {
			continue
		}
		null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
		if err != nil {
			st.closeChildEnds()
			return nil, err
		}
		st.childEnds = append(st.childEnds, null)
		*f = null
	}
	return st, nil
}

// relaySignals forwards docker's proxied signals to the exec'd process
// (by pidfd: the pid may be reused once it is reaped); SIGWINCH with a
// pty resizes it instead.
func (p *execProc) relaySignals() {
	for sig := range p.sigs {
		if sig == unix.SIGWINCH && p.pty != nil {
			p.stdio.resize()
			continue
		}
		p.cmd.Process.Signal(sig)
	}
}

// wait waits for the process and its output and returns docker's status.
func (p *execProc) wait() int {
	p.cmd.Wait()
	timeline.Mark("exited")
	signal.Stop(p.sigs)
	close(p.sigs)
	p.stdio.wait()
	p.stdio.close()
	if p.pty != nil {
		p.pty.Close()
	}
	return exitCode(p.cmd.ProcessState)
}
