package commands

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(func() *cli.Command { return loadCommand("load") }) }

func loadCommand(name string) *cli.Command {
	return &cli.Command{
		Name:  name,
		Usage: "load an image from a tar archive or STDIN",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "read from tar archive file, instead of STDIN"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the load output"},
		},
		Action: runLoad,
	}
}

func runLoad(c *cli.Context) error {
	if c.NArg() != 0 {
		return &ExitError{1, fmt.Errorf("load: takes no arguments, got %d", c.NArg())}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	r, err := loadInput(c)
	if err != nil {
		return &ExitError{1, err}
	}
	defer r.Close()
	loaded, err := image.Load(s, r, image.LoadOptions{Rootless: userns.Rootless(), Normalize: loadName})
	if err != nil {
		return &ExitError{1, err}
	}
	for _, l := range loaded {
		for _, n := range l.Names {
			if old, ok := l.Moved[n]; ok {
				fmt.Fprintf(c.App.Writer, "The image %s already exists, renaming the old one with ID %s to empty string\n", registry.ShortName(n), old)
			}
			fmt.Fprintf(c.App.Writer, "Loaded image: %s\n", registry.ShortName(n))
		}
		if len(l.Names) == 0 {
			fmt.Fprintf(c.App.Writer, "Loaded image ID: %s\n", l.Image.ID)
		}
	}
	return nil
}

// loadInput is -i's file or stdin, which docker refuses when it is a
// terminal (nothing was piped in).
func loadInput(c *cli.Context) (io.ReadCloser, error) {
	if p := c.String("input"); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		return f, nil
	}
	if f, ok := c.App.Reader.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return nil, errors.New("requested load from stdin, but stdin is empty")
	}
	return io.NopCloser(c.App.Reader), nil
}

// loadName is a name from an archive as the store keys it; a digest
// reference is no tag.
func loadName(n string) (string, error) {
	canon, err := registry.Normalize(n)
	if err != nil {
		return "", err
	}
	if _, dg := registry.SplitDigest(canon); dg != "" {
		return "", fmt.Errorf("%s is a digest, not a tag", n)
	}
	return canon, nil
}
