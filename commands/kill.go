package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/run"
)

func init() { register(killCommand) }

func killCommand() *cli.Command {
	return &cli.Command{
		Name:      "kill",
		Usage:     "kill one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Value: "KILL", Usage: "signal to send: a name (KILL, SIGHUP) or a number"},
		},
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			sig, err := container.ParseSignal(c.String("signal"))
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			return eachContainer(c, "kill", args, func(g *Globals, ref string) error {
				_, err := g.Containers().Kill(ref, sig)
				var nr *run.NotRunningError
				if errors.As(err, &nr) {
					return fmt.Errorf("cannot kill container: %s: %w", ref, err)
				}
				return err
			})
		},
	}
}
