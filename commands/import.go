package commands

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(importCommand) }

func importCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "import",
		Usage:     "import the contents from a tarball to create a filesystem image",
		ArgsUsage: "file|URL|- [REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "set commit message for imported image"},
			&cli.StringFlag{Name: "platform", Usage: "set platform (only linux/<this machine's arch>)"},
		},
		Action: runImport,
	}
	// Verbatim: a JSON form holds commas that a StringSliceFlag would split on.
	cmd.Flags = append(cmd.Flags, listFlag("change", []string{"c"}, "apply a Dockerfile instruction to the created image")...)
	return cmd
}

func runImport(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return &ExitError{1, fmt.Errorf("import: want file|URL|- [REPOSITORY[:TAG]], got %d arguments", c.NArg())}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	names, err := targetNames(c.Args().Get(1))
	if err != nil {
		return &ExitError{1, err}
	}
	if p := c.String("platform"); p != "" && p != "linux" && p != "linux/"+runtime.GOARCH {
		return &ExitError{1, fmt.Errorf("import: platform %s: only linux/%s images can be made here", p, runtime.GOARCH)}
	}
	cfg, err := childConfig(v1.ConfigFile{}, listOf(c, "change"))
	if err != nil {
		return &ExitError{1, err}
	}
	src := c.Args().Get(0)
	cfg.History = []v1.History{{Created: cfg.Created, Comment: c.String("message"), CreatedBy: "skiff import " + src}}
	r, err := openImportSource(src, c.App.Reader)
	if err != nil {
		return &ExitError{1, err}
	}
	defer r.Close()
	layer, err := image.StoreLayer(s, r, userns.Rootless())
	if err != nil {
		return &ExitError{1, fmt.Errorf("import %s: %w", src, err)}
	}
	img, err := image.Add(s, nil, cfg, layer, names)
	if err != nil {
		return &ExitError{1, fmt.Errorf("import %s: %w", src, err)}
	}
	fmt.Fprintln(c.App.Writer, img.ID)
	return nil
}

// importClient bounds how long an import waits for a server to answer; the
// body itself may take as long as it takes.
var importClient = &http.Client{Transport: &http.Transport{
	Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: time.Minute,
}}

// openImportSource opens "-" (stdin), an http(s) URL or a file.
func openImportSource(src string, stdin io.Reader) (io.ReadCloser, error) {
	switch {
	case src == "-":
		return io.NopCloser(stdin), nil
	case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
		resp, err := importClient.Get(src)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("import %s: server answered %s", src, resp.Status)
		}
		return resp.Body, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return f, nil
}
