package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/container"
)

func init() { register(startCommand) }

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
		Action: startAction,
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
	if err := g.ensureBridgeFor(ref); err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	ct, conn, err := g.Containers().Start(ref)
	if errors.Is(err, container.ErrAlreadyRunning) {
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
	if err := g.ensureBridgeFor(ref); err != nil {
		return err
	}
	_, conn, err := g.Containers().Start(ref)
	if errors.Is(err, container.ErrAlreadyRunning) {
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
