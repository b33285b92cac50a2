package commands

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(attachCommand) }

func attachCommand() *cli.Command {
	return &cli.Command{
		Name:      "attach",
		Usage:     "attach local standard input, output, and error streams to a running container",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "no-stdin", Usage: "do not attach STDIN"},
			&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "proxy all received signals to the process"},
			&cli.StringFlag{Name: "detach-keys", Usage: "override the key sequence for detaching a container"},
		},
		Action: attachAction,
	}
}

func attachAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{Code: 1, Err: errors.New(`"attach" requires exactly 1 argument: skiff attach [OPTIONS] CONTAINER`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	keys, err := parseDetachKeys(c.String("detach-keys"))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	ct, err := g.Containers().Lookup(c.Args().First())
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	if ct.Status == state.Paused {
		return &ExitError{Code: 1, Err: errors.New("You cannot attach to a paused container, unpause it first")}
	}
	if ct.Status != state.Running {
		return &ExitError{Code: 1, Err: errors.New("You cannot attach to a stopped container, start it first")}
	}
	conn, err := attach.Dial(state.SocketPath(g.Paths.RunRoot, ct.ID))
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("attach to container %s: %w (the container has no monitor: it cannot be attached)", shortid.Of(ct.ID), err)}
	}
	s := &attach.Session{
		Conn: conn, Stdin: ct.Config.OpenStdin && !c.Bool("no-stdin"), Tty: ct.Config.Tty,
		DetachKeys: keys, SigProxy: c.Bool("sig-proxy") && !ct.Config.Tty,
	}
	code, err := s.Run()
	return exitWith(g, ct.ID, code, err)
}

// exitWith turns a session's end into the command's exit: the container's
// code, or (monitor gone without a word) the code its record shows.
func exitWith(g *Globals, id string, code int, err error) error {
	switch {
	case errors.Is(err, attach.ErrDetached):
		return nil
	case errors.Is(err, attach.ErrNoExit):
		ct, lerr := g.Containers().Lookup(id)
		if lerr != nil || ct.Status == state.Running || ct.Status == state.Restarting {
			return &ExitError{Code: 125, Err: errors.New("lost the container's monitor before it exited (the container may run on: see skiff ps)")}
		}
		if ct.Status == state.Created {
			return &ExitError{Code: 125, Err: errors.New("the container's monitor exited before starting it")}
		}
		code = ct.ExitCode
	case err != nil:
		return &ExitError{Code: code, Err: err}
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// parseDetachKeys reads docker's --detach-keys ("ctrl-p,ctrl-q", "a,ctrl-x");
// "" is the default ctrl-p ctrl-q.
func parseDetachKeys(spec string) ([]byte, error) {
	if spec == "" {
		return []byte{0x10, 0x11}, nil
	}
	var keys []byte
	for _, k := range strings.Split(spec, ",") {
		if c, ok := strings.CutPrefix(k, "ctrl-"); ok && len(c) == 1 {
			switch ch := c[0]; {
			case ch >= 'a' && ch <= 'z':
				keys = append(keys, ch-'a'+1)
				continue
			case ch == '@' || ch == '[' || ch == '\\' || ch == ']' || ch == '^' || ch == '_':
				keys = append(keys, ch-'@')
				continue
			}
		} else if len(k) == 1 {
			keys = append(keys, k[0])
			continue
		}
		return nil, fmt.Errorf("invalid detach keys (%s) provided", spec)
	}
	return keys, nil
}
