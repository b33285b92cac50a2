package commands

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
)

func init() { register(func() *cli.Command { return pushCommand("push") }) }

func pushCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "upload an image to a registry",
		ArgsUsage: "NAME[:TAG]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all-tags", Aliases: []string{"a"}, Usage: "push all tags of an image to the repository"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress verbose output"},
		},
		Action: runPush,
	}
}

func runPush(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{1, fmt.Errorf("\"push\" requires exactly 1 argument (usage: skiff push NAME[:TAG])")}
	}
	ref := c.Args().First()
	if _, err := registry.Normalize(ref); err != nil {
		return &ExitError{1, err}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	pushed, err := registry.Push(ctx, s, ref, registry.PushOptions{
		Insecure: g.InsecureRegistries,
		AllTags:  c.Bool("all-tags"),
		Quiet:    c.Bool("quiet"),
		Out:      os.Stdout,
	})
	if err != nil {
		if ctx.Err() != nil && c.Context.Err() == nil {
			err = fmt.Errorf("push %s: interrupted", ref)
		}
		return &ExitError{1, err}
	}
	if c.Bool("quiet") {
		for _, p := range pushed {
			fmt.Println(p)
		}
	}
	return nil
}
