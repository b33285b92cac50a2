package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
)

func init() { register(cpCommand) }

func cpCommand() *cli.Command {
	return &cli.Command{
		Name:  "cp",
		Usage: "copy files/folders between a container and the local filesystem",
		ArgsUsage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n" +
			"   skiff cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "archive", Aliases: []string{"a"}, Usage: "archive mode (copy all uid/gid information)"},
			&cli.BoolFlag{Name: "follow-link", Aliases: []string{"L"}, Usage: "always follow symbol link in SRC_PATH"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress progress output (skiff prints none)"},
		},
		Action: cpAction,
	}
}

func cpAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 2 {
		return &ExitError{Code: 1, Err: errors.New(`"cp" requires exactly 2 arguments: skiff cp CONTAINER:SRC_PATH DEST_PATH|- or SRC_PATH|- CONTAINER:DEST_PATH`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	o := container.CopyOptions{Archive: c.Bool("archive"), FollowLink: c.Bool("follow-link")}
	srcCtr, src := splitCpArg(args[0])
	dstCtr, dst := splitCpArg(args[1])
	switch {
	case srcCtr != "" && dstCtr != "":
		return &ExitError{Code: 1, Err: errors.New("copying between containers is not supported")}
	case srcCtr == "" && dstCtr == "":
		return &ExitError{Code: 1, Err: errors.New("must specify at least one container source")}
	}
	if done, err := insideRunning(g, "cp", srcCtr+dstCtr); done {
		return err
	}
	switch {
	case srcCtr != "":
		err = g.Containers().CopyFromContainer(srcCtr, src, dst, o, os.Stdout)
	default:
		err = g.Containers().CopyToContainer(dstCtr, src, dst, o, os.Stdin)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("cp: %w", err)}
	}
	return nil
}

// splitCpArg splits CONTAINER:PATH as docker does: an absolute path, or
// one whose first ":" comes after a "/" (./a:b), is local.
func splitCpArg(arg string) (container, path string) {
	if strings.HasPrefix(arg, "/") || arg == "-" {
		return "", arg
	}
	name, p, ok := strings.Cut(arg, ":")
	if !ok || strings.Contains(name, "/") {
		return "", arg
	}
	return name, p
}
