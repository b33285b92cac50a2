package commands

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

func init() { register(rmCommand("rm")) }

func rmCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Aliases:   aliases,
		Usage:     "remove one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force the removal of a running container (uses SIGKILL)"},
			&cli.BoolFlag{Name: "volumes", Aliases: []string{"v"}, Usage: "remove anonymous volumes (there are none yet)"},
			&cli.BoolFlag{Name: "link", Aliases: []string{"l"}, Usage: "not supported yet", Hidden: true},
		},
		UseShortOptionHandling: true,
		OnUsageError:           usageError1,
		Action:                 rmAction,
	}
}

// rmAction removes each container named, printing the name given as docker
// does; failures are reported one line each and the exit status is 1.
func rmAction(c *cli.Context) error {
	if c.Bool("link") {
		return &ExitError{Code: 1, Err: errors.New("rm: --link is not supported yet")}
	}
	if c.NArg() == 0 {
		return &ExitError{Code: 1, Err: errors.New(`"rm" requires at least 1 argument: skiff rm [OPTIONS] CONTAINER [CONTAINER...]`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range c.Args().Slice() {
		if _, err := run.Remove(g.Paths.Root, g.Paths.RunRoot, ref, c.Bool("force")); err != nil {
			fmt.Fprintln(os.Stderr, "Error response from daemon:", err)
			failed = true
			continue
		}
		fmt.Println(ref)
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}
