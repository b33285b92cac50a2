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
// The steps, both ways: seal our binary; start the child and put it in its
// cgroup in the background (begin); send msgConfig; once the placement is
// done send msgGo; read until EOF (it exec'd), a pty master, or its
// msgError (finish; protocol.go). A monitor begins its container's init
// before the CLI has written the record (PrestartInit): the init's Go
// start-up and the cgroup move overlap the CLI's create.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
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
func (s *spawn) start() (*process, error) {
	b, err := s.begin()
	if err != nil {
		return nil, err
	}
	return b.finish(s.config)
}

// begun is a child started and being placed in its cgroup, that has not
// had its config yet: the init's Go start-up and its cgroup move (on
// cgroup v1 an RCU grace period) overlap whatever its parent does until
// finish, e.g. waiting for the CLI to write the container's record.
type begun struct {
	s      *spawn
	p      *process
	sock   *os.File
	conn   syncSocket
	placed chan error // the cgroup placement's result (placement runs in the background)

	placeOnce sync.Once
	placeErr  error
}

// begin seals our binary, starts the child and puts it in its cgroup in
// the background.
func (s *spawn) begin() (*begun, error) {
	exe, err := sealSelf()
	if err != nil {
		return nil, err
	}
	// The child's execve has resolved the sealed path once Start returns;
	// its copy of the fd is closed at that execve (O_CLOEXEC).
	defer exe.Close()
	sock, end, err := syncPair()
	if err != nil {
		return nil, err
	}
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
	spawning, _ := s.marks()
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
		sock.Close()
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return nil, fmt.Errorf("start %s: %w (rootless containers are not supported yet: run skiff as root)", s.what, err)
		}
		return nil, fmt.Errorf("start %s: %w", s.what, err)
	}
	b := &begun{s: s, p: &process{cmd: cmd}, sock: sock, conn: syncSocket(sock.Fd()), placed: make(chan error, 1)}
	go func() { b.placed <- b.place() }()
	if err := sendTimeline(b.conn); err != nil {
		b.abort()
		sock.Close()
		return nil, err
	}
	return b, nil
}

// place puts the child in its cgroup: a new one for a new container (kept
// in p.cg even when the move fails, so that abort removes it).
func (b *begun) place() error {
	cg, err := b.s.cgroup()
	if err != nil {
		return err
	}
	b.p.cg = cg
	err = cg.Add(b.p.cmd.Process.Pid)
	timeline.Mark("cgroup") // on cgroup v1, an RCU grace period after the fork
	return err
}

// finish sends the child its config, waits for its cgroup placement, says
// go and waits for its execve. On failure nothing of the child is left.
func (b *begun) finish(config any) (p *process, err error) {
	defer b.sock.Close()
	defer func() {
		if err != nil {
			b.abort()
		}
	}()
	if err := b.conn.sendJSON(msgConfig, config); err != nil {
		return nil, err
	}
	// The child sets itself up while its placement completes. It execs
	// only after our go.
	if err := b.waitPlaced(); err != nil {
		return nil, err
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

// waitPlaced waits for the cgroup placement and returns its result.
func (b *begun) waitPlaced() error {
	b.placeOnce.Do(func() { b.placeErr = <-b.placed })
	return b.placeErr
}

// abort kills and reaps a child that will not run, once its placement
// has ended, and removes a cgroup made for it.
func (b *begun) abort() {
	b.waitPlaced()
	b.p.abort(b.s.join == nil)
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
