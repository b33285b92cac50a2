package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

func init() { register(exportCommand) }

func exportCommand() *cli.Command {
	return &cli.Command{
		Name:      "export",
		Usage:     "export a container's filesystem as a tar archive",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file, instead of STDOUT"},
		},
		Action: runExport,
	}
}

func runExport(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{1, fmt.Errorf("export: want exactly one CONTAINER, got %d arguments", c.NArg())}
	}
	g, err := globals(c)
	if err != nil {
		return &ExitError{1, err}
	}
	if done, err := insideRunning(g, "export", c.Args().Get(0)); done {
		return err
	}
	ctr, err := g.Containers().Lookup(c.Args().Get(0))
	if err != nil {
		return &ExitError{1, err}
	}
	out := c.String("output")
	if out == "" {
		if f, ok := c.App.Writer.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return &ExitError{1, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")}
		}
		return exitOn(g.Containers().Export(c.App.Writer, ctr))
	}
	return exitOn(writeToFile("export", out, func(w io.Writer) error {
		return g.Containers().Export(w, ctr)
	}))
}

// writeToFile writes to a temp file renamed over path when complete, so a
// failed export or save never leaves a truncated archive under the asked
// name; verb starts its errors.
func writeToFile(verb, path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	os.Chmod(f.Name(), 0o644)
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	return nil
}

func exitOn(err error) error {
	if err != nil {
		return &ExitError{1, err}
	}
	return nil
}
