package commands

import (
	"errors"
	"io"
	"os"
	"slices"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(func() *cli.Command { return saveCommand("save") }) }

func saveCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "save one or more images to a tar archive (streamed to STDOUT by default)",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to a file, instead of STDOUT"},
		},
		Action: runSave,
	}
}

func runSave(c *cli.Context) error {
	if c.NArg() == 0 {
		return &ExitError{1, errors.New("save: want at least one IMAGE")}
	}
	g, err := globals(c)
	if err != nil {
		return &ExitError{1, err}
	}
	// rmi waits until the archive is written: no blob goes mid-save.
	s, release, err := keepImages(g)
	if err != nil {
		return &ExitError{1, err}
	}
	defer release()
	images, err := saveList(s, c.Args().Slice())
	if err != nil {
		return &ExitError{1, err}
	}
	write := func(w io.Writer) error { return image.Save(s, w, images) }
	out := c.String("output")
	if out == "" {
		if f, ok := c.App.Writer.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return &ExitError{1, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect")}
		}
		return exitOn(write(c.App.Writer))
	}
	return exitOn(writeToFile("save", out, write))
}

// saveList resolves the arguments as docker's save does: a name:tag saves
// that tag, a bare repository name every tag of it (on whichever images),
// an id or a digest reference the image with no name. Arguments naming one
// image merge.
func saveList(s *store.Store, args []string) ([]image.SaveImage, error) {
	l := &saveLister{at: map[string]int{}}
	var all []*store.Image
	for _, arg := range args {
		if canon, err := registry.Normalize(arg); err == nil && !registry.HasTagOrDigest(arg) {
			if all == nil {
				if all, err = s.Images(); err != nil {
					return nil, err
				}
			}
			if l.addRepo(all, registry.Repository(canon)) {
				continue
			}
		}
		img, err := findImage(s, arg)
		if err != nil {
			return nil, err
		}
		var names []string
		if canon, err := registry.Normalize(arg); err == nil && slices.Contains(img.RepoTags, canon) {
			names = []string{canon}
		}
		l.add(img, names)
	}
	return l.list, nil
}

// saveLister gathers the images to save, each once, with its names.
type saveLister struct {
	list []image.SaveImage
	at   map[string]int // image id -> index in list
}

// addRepo adds every image tagged in repo under those tags; false if none.
func (l *saveLister) addRepo(all []*store.Image, repo string) bool {
	found := false
	for _, img := range all {
		var names []string
		for _, t := range img.RepoTags {
			if registry.Repository(t) == repo {
				names = append(names, t)
			}
		}
		if len(names) > 0 {
			l.add(img, names)
			found = true
		}
	}
	return found
}

func (l *saveLister) add(img *store.Image, names []string) {
	i, ok := l.at[img.ID]
	if !ok {
		i, l.at[img.ID] = len(l.list), len(l.list)
		l.list = append(l.list, image.SaveImage{Image: img})
	}
	for _, n := range names {
		if slices.ContainsFunc(l.list[i].Names, func(m image.SaveName) bool { return m.Canonical == n }) {
			continue
		}
		_, tag := registry.SplitTag(n)
		l.list[i].Names = append(l.list[i].Names, image.SaveName{Canonical: n, Short: registry.ShortName(n), Tag: tag})
	}
}
