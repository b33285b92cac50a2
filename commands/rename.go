package commands

import (
	"errors"

	"github.com/urfave/cli/v2"
)

func init() { register(renameCommand) }

func renameCommand() *cli.Command {
	return &cli.Command{
		Name:      "rename",
		Usage:     "rename a container",
		ArgsUsage: "CONTAINER NEW_NAME",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) != 2 {
				return &ExitError{Code: 1, Err: errors.New(`"rename" requires exactly 2 arguments: skiff rename CONTAINER NEW_NAME`)}
			}
			if args[0] == "" || args[1] == "" {
				return &ExitError{Code: 1, Err: errors.New("Neither old nor new names may be empty")}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			if err := rename(g, args[0], args[1]); err != nil {
				return &ExitError{Code: 1, Err: daemonError(err)}
			}
			return nil
		},
	}
}

// rename resolves ref to its true record first, so a name (or id prefix)
// names the container it does for every other command.
func rename(g *Globals, ref, newName string) error {
	_, err := g.Containers().Rename(ref, newName)
	return err
}
