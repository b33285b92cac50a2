package commands

import (
	"bufio"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
)

func init() { register(diffCommand) }

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:      "diff",
		Usage:     "inspect changes to files or directories on a container's filesystem",
		ArgsUsage: "CONTAINER",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) != 1 {
				return &ExitError{Code: 1, Err: fmt.Errorf(`"diff" requires exactly 1 argument: skiff diff CONTAINER`)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			changes, err := g.Containers().Diff(args[0])
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			w := bufio.NewWriter(os.Stdout)
			for _, ch := range changes {
				fmt.Fprintln(w, ch)
			}
			return w.Flush()
		},
	}
}
