package commands

import (
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

func init() { register(restartCommand()) }

func restartCommand() *cli.Command {
	return &cli.Command{
		Name:      "restart",
		Usage:     "restart one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait before killing the container (default: its --stop-timeout, else 10)"},
			&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send (default: its --stop-signal or STOPSIGNAL, else SIGTERM)"},
		},
		UseShortOptionHandling: true,
		OnUsageError:           usageError1,
		Action: func(c *cli.Context) error {
			args, err := operands(c)
			if err != nil {
				return err
			}
			o, err := stopOptions(c)
			if err != nil {
				return err
			}
			// Stop returns once the old monitor has exited, so the start
			// below spawns a fresh monitor instead of finding the old one.
			return eachContainer(c, "restart", args, func(g *Globals, ref string) error {
				ct, err := run.Stop(g.Paths.Root, g.Paths.RunRoot, ref, o)
				if err != nil {
					return err
				}
				return startDetached(g, ct.ID)
			})
		},
	}
}
