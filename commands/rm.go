package commands

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func init() { register(func() *cli.Command { return rmCommand("rm") }) }

func rmCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Aliases:   aliases,
		Usage:     "remove one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force the removal of a running container (uses SIGKILL)"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove anonymous volumes associated with the container"},
			&cli.BoolFlag{Name: "link", Aliases: []string{"l"}, Usage: "not supported yet", Hidden: true},
		},
		Action: rmAction,
	}
}

// rmAction removes each container named, printing the name given as docker
// does; failures are reported one line each and the exit status is 1.
// With -v the container's anonymous volumes go after it; named ones stay.
func rmAction(c *cli.Context) error {
	args := c.Args().Slice()
	if c.Bool("link") {
		return &ExitError{Code: 1, Err: errors.New("rm: --link is not supported yet")}
	}
	return eachContainer(c, "rm", args, func(g *Globals, ref string) error {
		ct, err := g.Containers().Remove(ref, c.Bool("force"))
		if err != nil || !c.Bool("volumes") {
			return err
		}
		return g.Containers().RemoveAnonymousVolumes(ct)
	})
}
