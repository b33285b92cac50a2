package commands

import (
	"github.com/urfave/cli/v2"
)

func init() { register(restartCommand) }

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "restart one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     stopFlags(),
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			o, err := stopOptions(c)
			if err != nil {
				return err
			}
			// Stop returns once the old monitor has exited, so the start
			// below spawns a fresh monitor instead of finding the old one.
			return eachContainer(c, "restart", args, func(g *Globals, ref string) error {
				ct, err := g.Containers().Stop(ref, o)
				if err != nil {
					return err
				}
				return startDetached(g, ct.ID)
			})
		},
	}
}
