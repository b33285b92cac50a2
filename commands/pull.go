package commands

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(func() *cli.Command { return pullCommand("pull") }) }

func pullCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "download an image from a registry",
		ArgsUsage: "NAME[:TAG|@DIGEST]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image's full name"},
			&cli.StringFlag{Name: "platform", Usage: "os/arch[/variant] to pick from a multi-platform image (default: the host's)"},
		},
		Action: runPull,
	}
}

func runPull(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{1, fmt.Errorf("pull: want exactly one image name, got %d (usage: skiff pull NAME[:TAG|@DIGEST])", c.NArg())}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	ref := c.Args().First()
	canon, err := registry.Normalize(ref)
	if err != nil {
		return &ExitError{1, err}
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err = registry.Pull(ctx, s, ref, registry.PullOptions{Rootless: userns.Rootless(),
		Insecure: g.InsecureRegistries,
		Quiet:    c.Bool("quiet"),
		Out:      os.Stdout,
		Platform: c.String("platform"),
	})
	if err != nil {
		if ctx.Err() != nil && c.Context.Err() == nil {
			err = fmt.Errorf("pull %s: interrupted", ref)
		}
		return &ExitError{1, err}
	}
	fmt.Println(canon)
	return nil
}
