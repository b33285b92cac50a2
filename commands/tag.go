package commands

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
)

func init() { register(func() *cli.Command { return tagCommand("tag") }) }

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
	// Both names are checked before the store is read, as docker's client
	// does, and in its words.
	src, dst := c.Args().Get(0), c.Args().Get(1)
	if _, err := registry.Normalize(src); err != nil && !looksLikeID(src) {
		return &ExitError{1, fmt.Errorf("error parsing reference: %q is not a valid repository/tag: %w", src, err)}
	}
	canon, err := registry.Normalize(dst)
	if err != nil {
		return &ExitError{1, fmt.Errorf("error parsing reference: %q is not a valid repository/tag: %w", dst, err)}
	}
	if strings.Contains(dst, "@") {
		return &ExitError{1, fmt.Errorf("tag %s: refusing to create a tag with a digest reference", dst)}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	img, err := findImage(s, src)
	if err != nil {
		return &ExitError{1, err}
	}
	if err := s.Tag(img.ID, canon); err != nil {
		return &ExitError{1, err}
	}
	return nil
}
