package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/cgroup"
)

func init() { register(pauseCommand, unpauseCommand) }

func pauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "pause",
		Usage:     "pause all processes within one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			return eachContainer(c, "pause", args, func(g *Globals, ref string) error {
				_, err := g.Containers().Pause(ref)
				return freezeError("pause", ref, err)
			})
		},
	}
}

func unpauseCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpause",
		Usage:     "unpause all processes within one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			return eachContainer(c, "unpause", args, func(g *Globals, ref string) error {
				_, err := g.Containers().Unpause(ref)
				return freezeError("unpause", ref, err)
			})
		},
	}
}

// freezeError is err, or for a rootless container without a cgroup (no
// delegation: a cgroup v1 or hybrid host, or a login session's shell) the
// one line saying why it cannot be paused, as docker's rootless mode
// refuses pause on cgroup v1.
func freezeError(verb, ref string, err error) error {
	if err == nil || !rootless() || !errors.Is(err, cgroup.ErrNoFreezer) {
		return err
	}
	return fmt.Errorf("cannot %s container %s: a rootless container has a cgroup to freeze only on a cgroup v2 host that delegates one to the user (a systemd user session), and this one has none", verb, ref)
}
