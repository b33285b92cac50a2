package commands

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(commitCommand) }

func commitCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "commit",
		Usage:     "create a new image from a container's changes",
		ArgsUsage: "CONTAINER [REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: `author (e.g. "John Hannibal Smith <hannibal@a-team.com>")`},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
			&cli.BoolFlag{Name: "pause", Aliases: []string{"p"}, Value: true, Usage: "pause the container during the commit"},
		},
		Action: runCommit,
	}
	// Verbatim: a JSON form holds commas that a StringSliceFlag would split on.
	cmd.Flags = append(cmd.Flags, listFlag("change", []string{"c"}, "apply a Dockerfile instruction to the image")...)
	return cmd
}

func runCommit(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return &ExitError{1, fmt.Errorf("commit: want CONTAINER [REPOSITORY[:TAG]], got %d arguments", c.NArg())}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	names, err := targetNames(c.Args().Get(1))
	if err != nil {
		return &ExitError{1, err}
	}
	ctr, err := g.Containers().Lookup(c.Args().Get(0))
	if err != nil {
		return &ExitError{1, err}
	}
	parent, err := s.LookupImage(ctr.ImageID)
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: its image: %w", ctr.Name, err)}
	}
	cfg, err := childConfig(withContainerConfig(parent.Config, ctr.Config), listOf(c, "change"))
	if err != nil {
		return &ExitError{1, err}
	}
	cfg.Author = c.String("author")
	cfg.Container = ctr.ID
	cfg.History = append(cfg.History, v1.History{
		Created: cfg.Created, Author: cfg.Author, Comment: c.String("message"), CreatedBy: "skiff commit",
	})
	thaw := func() {}
	if c.Bool("pause") {
		if thaw, err = container.FreezeFor(ctr); err != nil {
			return &ExitError{1, err}
		}
	}
	layer, err := image.StoreWrittenLayer(s, func(w io.Writer) error { return g.Containers().WriteChanges(w, ctr) }, userns.Rootless())
	thaw()
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: %w", ctr.Name, err)}
	}
	img, err := image.Add(s, parent, cfg, layer, names)
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: %w", ctr.Name, err)}
	}
	fmt.Fprintln(c.App.Writer, img.ID)
	return nil
}

// targetNames is the canonical name:tag to tag a new image with (none if
// arg is empty: the image shows as <none>).
func targetNames(arg string) ([]string, error) {
	if arg == "" {
		return nil, nil
	}
	if strings.Contains(arg, "@") {
		return nil, fmt.Errorf("%s: refusing to create a tag with a digest reference", arg)
	}
	canon, err := registry.Normalize(arg)
	if err != nil {
		return nil, err
	}
	return []string{canon}, nil
}

// withContainerConfig is the image config as the container ran it, which
// docker's commit starts from: its command, entrypoint, environment (less
// HOSTNAME, which every container gets anew), working dir, user, labels.
func withContainerConfig(img v1.ConfigFile, cc state.Config) v1.ConfigFile {
	cfg := img
	cfg.Config.Cmd, cfg.Config.Entrypoint = cc.Cmd, cc.Entrypoint
	if len(cc.Env) > 0 {
		cfg.Config.Env = slices.DeleteFunc(slices.Clone(cc.Env), func(e string) bool { return strings.HasPrefix(e, "HOSTNAME=") })
	}
	if cc.WorkingDir != "" && (cc.WorkingDir != "/" || img.Config.WorkingDir != "") {
		cfg.Config.WorkingDir = cc.WorkingDir
	}
	cfg.Config.User = cc.User
	// A container's config has no ONBUILD triggers (docker's create leaves
	// them out), so a commit keeps only those its -c changes add.
	cfg.Config.OnBuild = nil
	if len(cc.Labels) > 0 {
		cfg.Config.Labels = maps.Clone(img.Config.Labels)
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		maps.Copy(cfg.Config.Labels, cc.Labels)
	}
	return cfg
}

// childConfig is parent's config for a new image: creation time now, the
// -c changes applied, the container's own runtime fields dropped.
func childConfig(parent v1.ConfigFile, changes []string) (v1.ConfigFile, error) {
	cfg := image.ChildConfig(parent)
	return cfg, build.ApplyChanges(&cfg.Config, changes)
}

// imageComment is docker's image Comment: the -m of the commit or import
// that made the image, which its last history entry carries in any image
// format (docker's own config also repeats it at top level; OCI's has no
// such field).
func imageComment(h []v1.History) string {
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1].Comment
}
