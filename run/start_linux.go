package run

// The one start path of a process in a container, for its init (started
// by the container's monitor) and for a process `skiff exec` adds. Either
// is the sealed skiff (CVE-2019-5736) re-exec'd with a hidden role
// argument, fd 3 its end of the sync socket, in its own session. What
// differs is where it is born:
//
//	the init   new mnt/pid/uts/ipc/net namespaces (clone flags); a new
//	           cgroup /skiff/<id>, removed again if the start fails
//	an exec    forked from a thread that joined the running container's
//	           namespaces (ns.Target); the container's cgroup
//
// The steps, both ways: seal our binary; make (or find) the cgroup; fork
// the child from a thread that has joined the cgroup (and, for an exec, the
// container's namespaces), so that it is born there and nothing is moved
// (begin); send msgConfig and msgGo; read until EOF (it exec'd), a pty
// master, or its msgError (finish; protocol.go). A monitor begins its
// container's init before the CLI has written the record (PrestartInit),
// so the init's Go start-up overlaps the CLI's create.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/ns"
)

// spawn is what one start needs.
type spawn struct {
	role   string   // InitArg or ExecArg: the child's hidden first argument
	what   string   // names the child in errors
	id     string   // the container, whose cgroup the child joins
	config filtered // msgConfig's payload: *InitConfig or *ExecConfig
	// stdin, stdout and stderr are the child's stdio. An exec passes no
	// nil: os/exec would open /dev/null on the joined thread, inside the
	// container's mount namespace.
	stdin, stdout, stderr *os.File
	// join is the running container an exec'd process is born in; nil
	// makes the container: new namespaces and a new cgroup.
	join *ns.Target
	// hostNetwork leaves a new container in the host's network namespace;
	// netOf puts it in another container's (--network container:NAME).
	hostNetwork bool
	netOf       *ns.Target
	// shared are the init's namespaces other than the network one that
	// are the host's or another container's (--pid, --ipc, --uts).
	shared Shared
	// cgroupParent is the container's --cgroup-parent ("": skiff's);
	// joinCgroupNS joins its cgroup namespace too (--cgroupns private).
	cgroupParent string
	joinCgroupNS bool
	// delegation is a rootless container's delegated cgroup, which its
	// cgroup is below instead (nil: root's, or a rootless one without).
	delegation *cgroup.Delegation
	// beforeGo runs once the child has its config and before it may exec
	// (the monitor wires the container's network meanwhile, while the
	// init builds its root); its error aborts the start.
	beforeGo func(pid int) error
}

// process is a started process in a container as its parent sees it.
type process struct {
	cmd *exec.Cmd
	cg  *cgroup.Cgroup
	pty *os.File // the master, with a terminal
}

// start runs the steps at the top of this file. On failure nothing of the
// child is left: it is killed and reaped, and a cgroup made for it is gone.
func (s *spawn) start() (*process, error) {
	b, err := s.begin()
	if err != nil {
		return nil, err
	}
	return b.finish(s.config)
}

// begun is a child started in its cgroup that has not had its config
// yet: a monitor begins its container's init before the record exists, so
// the init's Go start-up overlaps the CLI's create.
type begun struct {
	s    *spawn
	p    *process
	sock *os.File
	conn syncSocket
}

// begin seals our binary and starts the child in its cgroup.
func (s *spawn) begin() (*begun, error) {
	exe, err := sealSelf()
	if err != nil {
		return nil, err
	}
	// The child's execve has resolved the sealed path once Start returns;
	// its copy of the fd is closed at that execve (O_CLOEXEC).
	defer exe.Close()
	cg, err := s.cgroup()
	if err != nil {
		return nil, err
	}
	sock, end, err := syncPair()
	if err != nil {
		s.dropCgroup(cg)
		return nil, err
	}
	defer end.Close()
	cmd, err := s.startIn(cg, func() *exec.Cmd { return s.command(exe, end) })
	if err != nil {
		sock.Close()
		s.dropCgroup(cg)
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("start %s: %w (rootless containers are not supported yet: run skiff as root)", s.what, err)
		}
		return nil, fmt.Errorf("start %s: %w", s.what, err)
	}
	b := &begun{s: s, p: &process{cmd: cmd, cg: cg}, sock: sock, conn: syncSocket(sock.Fd())}
	if err := sendTimeline(b.conn); err != nil {
		b.abort()
		return nil, err
	}
	return b, nil
}

// command is the child's exec.Cmd: the sealed binary with the role, fd 3
// its end of the sync socket.
func (s *spawn) command(exe *sealedExe, end *os.File) *exec.Cmd {
	cmd := &exec.Cmd{
		Path:       exe.path(),
		Args:       []string{"skiff", s.role},
		Env:        []string{}, // the host's environment never reaches the container
		Stdin:      s.stdin,
		Stdout:     s.stdout,
		Stderr:     s.stderr,
		ExtraFiles: []*os.File{end},
		// Its own session: never in the host terminal's foreground group,
		// so ^C reaches it only through our relay, and a hangup of our
		// terminal (exec -d) never.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if s.shared.ShmTree != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, s.shared.ShmTree) // shmTreeFd
	}
	if s.join == nil {
		cmd.SysProcAttr.Cloneflags = ns.ContainerCloneFlags
		if s.hostNetwork || s.netOf != nil {
			cmd.SysProcAttr.Cloneflags &^= unix.CLONE_NEWNET
		}
		cmd.SysProcAttr.Cloneflags &^= s.shared.notNew()
	}
	return cmd
}

// startIn starts the child born in cg: forked from a thread of its own
// that first joins cg (cgroup.JoinThread: no migration, so no RCU grace
// period on the path) and, for an exec, the container's namespaces. A
// kernel without clone3's CLONE_INTO_CGROUP, or an exec that joins the
// container's cgroup namespace, gets a plain clone and a move into cg's
// cgroup2 part.
func (s *spawn) startIn(cg *cgroup.Cgroup, newCmd func() *exec.Cmd) (*exec.Cmd, error) {
	spawning, _ := s.marks()
	var cmd *exec.Cmd
	var moveAfter bool
	err := ns.OnDiscardedThread(func() error {
		v2fd, err := cg.JoinThread()
		if err != nil {
			return err
		}
		if v2fd >= 0 {
			defer unix.Close(v2fd)
		}
		if s.join != nil {
			flags := ns.JoinFlags
			if s.joinCgroupNS {
				flags |= unix.CLONE_NEWCGROUP
			}
			if err := s.join.Join(flags); err != nil {
				return err
			}
		}
		if s.netOf != nil {
			if err := s.netOf.Join(unix.CLONE_NEWNET); err != nil {
				return err
			}
		}
		if err := s.shared.join(); err != nil {
			return err
		}
		timeline.Mark(spawning)
		cmd = newCmd()
		if v2fd < 0 {
			return cmd.Start()
		}
		if s.joinCgroupNS {
			// In the container's cgroup namespace the thread's own cgroup2
			// is outside the namespace's root, and with nsdelegate (as
			// systemd mounts cgroup2) the kernel refuses CLONE_INTO_CGROUP
			// from there (ENOENT: found on a real v2 host, make e2e-v2).
			// The parent, in the host's cgroup namespace, moves the child.
			moveAfter = true
			return cmd.Start()
		}
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, v2fd
		if err = cmd.Start(); errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.E2BIG) {
			cmd, moveAfter = newCmd(), true
			err = cmd.Start()
		}
		return err
	})
	if err == nil && moveAfter {
		if err = cg.Add(cmd.Process.Pid); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	return cmd, err
}

// dropCgroup removes a cgroup made for a child that never started.
func (s *spawn) dropCgroup(cg *cgroup.Cgroup) {
	if s.join == nil {
		cg.Delete()
	}
}

// finish sends the child its config, says go and waits for its execve. On
// failure nothing of the child is left.
func (b *begun) finish(config filtered) (p *process, err error) {
	defer b.sock.Close()
	defer func() {
		if err != nil {
			b.abort()
		}
	}()
	if err := b.conn.sendFilter(config); err != nil {
		return nil, err
	}
	if err := b.conn.sendJSON(msgConfig, config); err != nil {
		return nil, err
	}
	if b.s.beforeGo != nil {
		if err := b.s.beforeGo(b.p.cmd.Process.Pid); err != nil {
			if childErr := b.failedFirst(); childErr != nil {
				return nil, childErr
			}
			return nil, err
		}
	}
	// A child that already failed has closed its end; its msgError is
	// still queued for awaitExec, so an error here is moot.
	b.conn.send(msgGo, nil, -1)
	if b.p.pty, err = awaitExec(b.conn, b.p.cmd); err != nil {
		return nil, err
	}
	_, running := b.s.marks()
	timeline.Mark(running)
	return b.p, nil
}

// abort kills and reaps a child that will not run, and removes a cgroup
// made for it.
func (b *begun) abort() { b.p.abort(b.s.join == nil) }

// failedFirst is the child's own report when it has already given up: a
// setup before Go that failed because the child is gone (its network
// namespace with it) must report why the child went (a refused mount,
// say), not that its namespace was missing. nil while the child still
// waits for Go. A dying child's namespaces go before its last thread has
// closed the socket (a Go process's threads exit one by one), so one
// whose namespace is gone is given a moment to hang up.
func (b *begun) failedFirst() error {
	wait := 0
	if _, err := os.Stat("/proc/" + strconv.Itoa(b.p.cmd.Process.Pid) + "/ns/net"); err != nil {
		wait = 2000 // ms: it is exiting; its hang-up follows within moments
	}
	fds := []unix.PollFd{{Fd: int32(b.conn), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, wait)
		if err == unix.EINTR {
			continue
		}
		// An exiting child's report may be queued before its hang-up:
		// then reading to EOF cannot block for long.
		ready := fds[0].Revents & unix.POLLHUP
		if wait > 0 {
			ready |= fds[0].Revents & unix.POLLIN
		}
		if err != nil || n == 0 || ready == 0 {
			return nil
		}
		break
	}
	pty, err := awaitExec(b.conn, b.p.cmd)
	if pty != nil {
		pty.Close()
	}
	var se *StartError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// marks names this start's phase marks (-D): the fork of the child (for
// an exec, on the thread that joined the container), and its execve.
func (s *spawn) marks() (spawning, running string) {
	if s.join == nil {
		return "spawn-init", "init-running"
	}
	return "joined", "exec-running"
}

// cgroup is the child's: a new one for a new container, else the
// container's own; a rootless container's below its delegated subtree.
func (s *spawn) cgroup() (*cgroup.Cgroup, error) {
	switch {
	case s.delegation != nil && s.join == nil:
		return newDelegated(s.delegation, s.id)
	case s.delegation != nil:
		return s.delegation.Load(s.id)
	case s.join == nil:
		return cgroup.NewUnder(s.cgroupParent, s.id)
	}
	return cgroup.LoadUnder(s.cgroupParent, s.id)
}

// newDelegated makes container id's cgroup below the delegated subtree d,
// once the kernel will let us start (or move) a process there: a caller
// outside the subtree would only meet an EPERM at the clone.
func newDelegated(d *cgroup.Delegation, id string) (*cgroup.Cgroup, error) {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	if err := d.Admits(string(self)); err != nil {
		return nil, err
	}
	return d.New(id)
}

// abort kills and reaps a child whose start failed; ownCgroup removes its
// cgroup too (the init's, never a running container's).
func (p *process) abort(ownCgroup bool) {
	p.cmd.Process.Kill()
	p.cmd.Wait()
	if ownCgroup && p.cg != nil {
		p.cg.Delete()
	}
	if p.pty != nil {
		p.pty.Close()
	}
}
