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
// The steps, both ways: seal our binary; start the child; send msgConfig;
// put it in its cgroup while it sets itself up; send msgGo; read until EOF
// (it exec'd), a pty master, or its msgError (protocol.go).

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/ns"
)

// spawn is what one start needs.
type spawn struct {
	role   string // InitArg or ExecArg: the child's hidden first argument
	what   string // names the child in errors
	id     string // the container, whose cgroup the child joins
	config any    // msgConfig's payload: *InitConfig or *ExecConfig
	// stdin, stdout and stderr are the child's stdio. An exec passes no
	// nil: os/exec would open /dev/null on the joined thread, inside the
	// container's mount namespace.
	stdin, stdout, stderr *os.File
	// join is the running container an exec'd process is born in; nil
	// makes the container: new namespaces and a new cgroup.
	join *ns.Target
}

// process is a started process in a container as its parent sees it.
type process struct {
	cmd *exec.Cmd
	cg  *cgroup.Cgroup
	pty *os.File // the master, with a terminal
}

// start runs the steps at the top of this file. On failure nothing of the
// child is left: it is killed and reaped, and a cgroup made for it is gone.
func (s *spawn) start() (p *process, err error) {
	exe, err := sealSelf()
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	sock, end, err := syncPair()
	if err != nil {
		return nil, err
	}
	defer sock.Close()
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
	spawning, running := s.marks()
	if s.join == nil {
		cmd.SysProcAttr.Cloneflags = ns.ContainerCloneFlags
		timeline.Mark(spawning)
		err = cmd.Start()
	} else {
		err = s.join.OnJoinedThread(ns.JoinFlags, func() error {
			timeline.Mark(spawning)
			return cmd.Start()
		})
	}
	end.Close()
	if err != nil {
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("start %s: %w (rootless containers are not supported yet: run skiff as root)", s.what, err)
		}
		return nil, fmt.Errorf("start %s: %w", s.what, err)
	}
	p = &process{cmd: cmd}
	defer func() {
		if err != nil {
			p.abort(s.join == nil)
			p = nil
		}
	}()
	conn := syncSocket(sock.Fd())
	if err := sendTimeline(conn); err != nil {
		return p, err
	}
	if err := conn.sendJSON(msgConfig, s.config); err != nil {
		return p, err
	}
	// The child sets itself up while we place it in its cgroup: on cgroup
	// v1 the first move waits for an RCU grace period (~5 ms), as long as
	// the init's whole rootfs setup. It execs only after our go.
	if p.cg, err = s.cgroup(); err != nil {
		return p, err
	}
	if err := p.cg.Add(cmd.Process.Pid); err != nil {
		return p, err
	}
	// A child that already failed has closed its end; its msgError is
	// still queued for awaitExec, so an error here is moot.
	conn.send(msgGo, nil, -1)
	p.pty, err = awaitExec(conn, cmd)
	if err == nil {
		timeline.Mark(running)
	}
	return p, err
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
// container's own.
func (s *spawn) cgroup() (*cgroup.Cgroup, error) {
	if s.join == nil {
		return cgroup.New(s.id)
	}
	return cgroup.Load(s.id)
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
