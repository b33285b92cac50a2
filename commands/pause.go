package commands

import (
	"github.com/urfave/cli/v2"
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
				return err
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
				return err
			})
		},
	}
}
