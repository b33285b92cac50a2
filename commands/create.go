package commands

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

func init() { register(createCommand()) }

func createCommand() *cli.Command {
	return &cli.Command{
		Name:                   "create",
		Usage:                  "create a new container",
		ArgsUsage:              "IMAGE [COMMAND] [ARG...]",
		Flags:                  runFlags(),
		HideHelp:               true, // -h is --hostname, as docker's
		UseShortOptionHandling: true,
		OnUsageError:           usageError,
		Action:                 createAction,
	}
}

// createAction is run without the start: the record (status created),
// config and name; `skiff start` spawns the monitor later.
func createAction(c *cli.Context) error {
	if c.Bool("help") {
		return cli.ShowCommandHelp(c, c.Command.Name)
	}
	fail := func(err error) error { return &ExitError{Code: 125, Err: fmt.Errorf("create: %w", err)} }
	if err := checkUnsupported(c); err != nil {
		return fail(err)
	}
	if c.NArg() < 1 {
		return fail(errors.New(`"create" requires at least 1 argument: skiff create [OPTIONS] IMAGE [COMMAND] [ARG...]`))
	}
	g, err := globals(c)
	if err != nil {
		return fail(err)
	}
	o, err := runOptions(c, g)
	if err != nil {
		return fail(err)
	}
	if _, err := parseDetachKeys(c.String("detach-keys")); err != nil {
		return fail(err)
	}
	img, err := imageFor(c.Context, g, o.ImageRef, c.String("pull"), c.Bool("quiet"))
	if err != nil {
		return fail(err)
	}
	ct, err := run.Create(*img, o)
	if err != nil {
		return fail(err)
	}
	fmt.Println(ct.State.ID)
	return nil
}
