package commands

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

func init() { register(createCommand) }

func createCommand() *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a new container",
		ArgsUsage: "IMAGE [COMMAND] [ARG...]",
		Flags:     runFlags(),
		HideHelp:  true, // -h is --hostname, as docker's
		Action:    createAction,
	}
}

// createAction is run without the start: the record (status created),
// config and name; `skiff start` spawns the monitor later.
func createAction(c *cli.Context) error {
	if c.Bool("help") {
		return cli.ShowCommandHelp(c, c.Command.Name)
	}
	fail := func(err error) error { return &ExitError{Code: 125, Err: fmt.Errorf("create: %w", err)} }
	g, o, _, err := checkRun(c)
	if err != nil {
		return fail(err)
	}
	s, release, err := keepImages(g) // until the record names the image
	if err != nil {
		return fail(err)
	}
	defer release()
	img, err := imageFor(c.Context, g, s, o.ImageRef, c.String("pull"), c.Bool("quiet"))
	if err != nil {
		return fail(err)
	}
	ct, err := g.Containers().Create(*img, o)
	if err != nil {
		return fail(err)
	}
	fmt.Println(ct.State.ID)
	return nil
}
