package commands

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(startCommand()) }

func startCommand() *cli.Command {
	return &cli.Command{
		Name:      "start",
		Usage:     "start one or more stopped containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "attach", Aliases: []string{"a"}, Usage: "attach STDOUT/STDERR and forward signals"},
			&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "attach container's STDIN"},
			&cli.StringFlag{Name: "detach-keys", Usage: "override the key sequence for detaching a container"},
		},
		UseShortOptionHandling: true,
		Action:                 startAction,
	}
}

func startAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return &ExitError{Code: 1, Err: errors.New(`"start" requires at least 1 argument: skiff start [OPTIONS] CONTAINER [CONTAINER...]`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	if c.Bool("attach") || c.Bool("interactive") {
		if c.NArg() > 1 {
			return &ExitError{Code: 1, Err: errors.New("you cannot start and attach multiple containers at once")}
		}
		return startAttachedAction(c, g, c.Args().First())
	}
	var failed []string
	for _, ref := range c.Args().Slice() {
		if err := startDetached(g, ref); err != nil {
			printError(daemonError(err))
			failed = append(failed, ref)
			continue
		}
		fmt.Println(ref)
	}
	if len(failed) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("failed to start containers: %s", strings.Join(failed, ", "))}
	}
	return nil
}

func startAttachedAction(c *cli.Context, g *Globals, ref string) error {
	keys, err := parseDetachKeys(c.String("detach-keys"))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ct, conn, err := spawnMonitor(g, ref)
	if errors.Is(err, errAlreadyRunning) {
		return nil // docker: starting a running container is a no-op
	}
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	s := &attach.Session{
		Conn: conn, Stdin: c.Bool("interactive") && ct.Config.OpenStdin, Tty: ct.Config.Tty,
		DetachKeys: keys, SigProxy: !ct.Config.Tty,
	}
	code, err := s.Run()
	if err != nil && !errors.Is(err, attach.ErrDetached) && !errors.Is(err, attach.ErrNoExit) {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	return exitWith(g, ct.ID, code, err)
}

// startDetached starts container ref (created or exited) in the
// background and returns once its process runs or its start failed: the
// body of `start` without -a, and of `restart` after the stop. A running
// container is left alone (nil), as docker's start.
func startDetached(g *Globals, ref string) error {
	_, conn, err := spawnMonitor(g, ref)
	if errors.Is(err, errAlreadyRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	s := &attach.Session{Conn: conn, Detach: true}
	if _, err := s.Run(); err != nil {
		if errors.Is(err, attach.ErrNoExit) {
			return fmt.Errorf("container %s: its monitor exited before starting it", ref)
		}
		return err
	}
	return nil
}

var errAlreadyRunning = errors.New("container is already running")

// spawnMonitor starts ref's monitor with us as its first client, under
// the container lock so that two starts cannot both spawn one.
func spawnMonitor(g *Globals, ref string) (*state.Container, *net.UnixConn, error) {
	ct, err := lookupCurrent(g, ref)
	if err != nil {
		return nil, nil, err
	}
	if ct.Status == state.Exited || ct.Status == state.Created {
		// The previous run's monitor may still be finishing (its Exit frame
		// has reached `start -a`, its cleanup has not): let it go rather
		// than take it for a running container. It needs the container
		// lock to finish, so wait before taking it.
		awaitMonitorGone(g.Paths.RunRoot, ct.ID, 2*time.Second)
	}
	l, err := state.LockContainer(g.Paths.RunRoot, ct.ID)
	if err != nil {
		return nil, nil, err
	}
	defer l.Unlock()
	if ct, err = state.Load(g.Paths.Root, ct.ID); err != nil {
		return nil, nil, err
	}
	if ct.Status == state.Paused {
		return ct, nil, errors.New("cannot start a paused container, try unpause instead")
	}
	if ct.Status == state.Running || ct.Status == state.Restarting || state.MonitorAlive(g.Paths.RunRoot, ct.ID) {
		return ct, nil, errAlreadyRunning
	}
	if ct.ManuallyStopped || ct.RestartCount != 0 {
		ct.ManuallyStopped, ct.RestartCount = false, 0
		if err := state.Save(g.Paths.Root, ct); err != nil {
			return nil, nil, err
		}
	}
	conn, err := spawn(g, ct.ID)
	if errors.Is(err, state.ErrMonitorAlive) {
		return ct, nil, errAlreadyRunning
	}
	return ct, conn, err
}

// spawn starts id's monitor and returns our end of its first client socket.
func spawn(g *Globals, id string) (*net.UnixConn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "attach"), os.NewFile(uintptr(fds[1]), "attach-monitor")
	defer mine.Close()
	timeline.Mark("spawn-monitor")
	err = monitor.Spawn(g.Paths.Root, g.Paths.RunRoot, id, theirs)
	theirs.Close()
	if err != nil {
		return nil, err
	}
	c, err := net.FileConn(mine)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	return c.(*net.UnixConn), nil
}

// awaitMonitorGone waits up to d for id's monitor, if any, to exit.
func awaitMonitorGone(runRoot, id string, d time.Duration) {
	for deadline := time.Now().Add(d); state.MonitorAlive(runRoot, id) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}
