package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(waitCommand) }

func waitCommand() *cli.Command {
	return &cli.Command{
		Name:      "wait",
		Usage:     "block until one or more containers stop, then print their exit codes",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) == 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf(`"wait" requires at least 1 argument: skiff wait CONTAINER [CONTAINER...]`)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			failed := false
			for _, ref := range args {
				code, err := waitFor(g, ref)
				if err != nil {
					printError(daemonError(err))
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

// waitFor is container.Store.Wait, except for a --rm container: its monitor removes
// the record with the exit code in it, so the code is taken from the
// monitor's Exit frame instead, as a foreground run gets it.
func waitFor(g *Globals, ref string) (int, error) {
	ct, err := g.Containers().Lookup(ref)
	if err != nil {
		return 0, err
	}
	if ct.Config.AutoRemove && ct.Status.Up() {
		if code, ok := exitFrame(g, ct.ID); ok {
			return code, nil
		}
	}
	return g.Containers().Wait(ct.ID)
}

// exitFrame attaches to id's monitor and discards output until Exit.
func exitFrame(g *Globals, id string) (int, bool) {
	conn, err := attach.Dial(state.SocketPath(g.Paths.RunRoot, id))
	if err != nil {
		return 0, false
	}
	defer conn.Close()
	return attach.AwaitExit(conn)
}
