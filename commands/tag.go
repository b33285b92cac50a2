package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/pull"
)

func init() { register(tagCommand("tag")) }

func tagCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "give an image another name",
		ArgsUsage: "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Action:    runTag,
	}
}

func runTag(c *cli.Context) error {
	if c.NArg() != 2 {
		return &ExitError{1, fmt.Errorf("tag: want SOURCE and TARGET, got %d arguments", c.NArg())}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	img, err := findImage(s, c.Args().Get(0))
	if err != nil {
		return &ExitError{1, err}
	}
	dst := c.Args().Get(1)
	if strings.Contains(dst, "@") {
		return &ExitError{1, fmt.Errorf("tag %s: refusing to create a tag with a digest reference", dst)}
	}
	canon, err := pull.Normalize(dst)
	if err != nil {
		return &ExitError{1, err}
	}
	if err := s.Tag(img.ID, canon); err != nil {
		return &ExitError{1, err}
	}
	return nil
}
