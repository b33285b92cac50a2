package commands

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

func init() { register(waitCommand()) }

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:         "wait",
		Usage:        "block until one or more containers stop, then print their exit codes",
		ArgsUsage:    "CONTAINER [CONTAINER...]",
		OnUsageError: usageError1,
		Action: func(c *cli.Context) error {
			args, err := operands(c)
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf(`"wait" requires at least 1 argument: skiff wait CONTAINER [CONTAINER...]`)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			failed := false
			for _, ref := range args {
				code, err := run.Wait(g.Paths.Root, g.Paths.RunRoot, ref)
				if err != nil {
					fmt.Fprintln(os.Stderr, "Error response from daemon:", err)
					failed = true
					continue
				}
				fmt.Println(code)
			}
			if failed {
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
}
