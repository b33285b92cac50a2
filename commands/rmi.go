package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(func() *cli.Command { return rmiCommand("rmi") }) }

func rmiCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Aliases:   aliases,
		Usage:     "remove images",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "remove even if tagged in several repositories or used by a container"},
		},
		Action: runRmi,
	}
}

func runRmi(c *cli.Context) error {
	if c.NArg() == 0 {
		return &ExitError{1, fmt.Errorf("rmi: want at least one image")}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	used := func() (map[string][]string, error) { return containersByImage(g) }
	failed := false
	for _, arg := range c.Args().Slice() {
		if err := removeImage(s, arg, c.Bool("force"), used, os.Stdout); err != nil {
			printError(err)
			failed = true
		}
	}
	if failed {
		return &ExitError{Code: 1} // each failure is printed already
	}
	return nil
}

// removeImage is docker's rmi of one argument: a name that is one of
// several untags only; otherwise the image goes with all its names and the
// layers nothing else uses. An image a container uses stays: rmi refuses,
// and rmi -f only untags it (it shows as <none>:<none> until the container
// is removed and the image with it).
func removeImage(s *store.Store, arg string, force bool, used store.UsedImages, w io.Writer) error {
	img, err := findImage(s, arg)
	if err != nil {
		return err
	}
	canon, _ := registry.Normalize(arg)
	byName := canon != "" && (slices.Contains(img.RepoTags, canon) || slices.Contains(img.RepoDigests, canon))
	if byName && len(img.RepoTags) > 1 {
		if _, err := s.Untag(canon); err != nil {
			return err
		}
		fmt.Fprintf(w, "Untagged: %s\n", registry.ShortName(canon))
		return nil
	}
	if !byName && len(img.RepoTags) > 1 && !force {
		return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is referenced in multiple repositories", shortid.Of(img.ID))
	}
	d, err := s.DeleteImage(img.ID, force, used)
	var inUse *store.InUseError
	switch {
	case errors.As(err, &inUse) && !force:
		return fmt.Errorf("conflict: unable to delete %s (must be forced) - image is being used by container %s (remove it with skiff rm first)", arg, shortid.Of(inUse.ContainerID))
	case errors.As(err, &inUse):
		return fmt.Errorf("conflict: unable to delete %s (cannot be forced) - image is being used by container %s", shortid.Of(img.ID), shortid.Of(inUse.ContainerID))
	case err != nil:
		return err
	}
	sort.Slice(d.Untagged, func(i, j int) bool { return untagOrder(d.Untagged[i]) < untagOrder(d.Untagged[j]) })
	for _, n := range d.Untagged {
		fmt.Fprintf(w, "Untagged: %s\n", registry.ShortName(n))
	}
	if d.Kept {
		return nil
	}
	printDeleted(w, img.ID, d)
	removeBuiltParents(s, img.ID, used, w)
	return nil
}

func printDeleted(w io.Writer, id string, d *store.Deleted) {
	fmt.Fprintf(w, "Deleted: %s\n", id)
	for _, l := range d.Layers {
		fmt.Fprintf(w, "Deleted: %s\n", l)
	}
}

// removeBuiltParents deletes, once image id is gone, the untagged images a
// build made it from that nothing else needs (no name, no other child, no
// container), walking up the chain, as docker's rmi removes a classic
// build's intermediate images.
func removeBuiltParents(s *store.Store, id string, used store.UsedImages, w io.Writer) {
	parents, err := build.BuiltParents(s.Root())
	if err != nil {
		return
	}
	for {
		parent, ok := parents[id]
		build.ForgetParent(s.Root(), id)
		delete(parents, id)
		if !ok {
			return
		}
		img, err := s.LookupImage(parent)
		if err != nil || len(img.RepoTags)+len(img.RepoDigests) > 0 || hasChild(s, parents, parent) {
			return
		}
		d, err := s.DeleteImage(parent, false, used)
		if err != nil || d.Kept {
			return
		}
		printDeleted(w, parent, d)
		id = parent
	}
}

// hasChild reports whether an image still in s was built from parent.
func hasChild(s *store.Store, parents map[string]string, parent string) bool {
	for child, p := range parents {
		if p == parent {
			if _, err := s.LookupImage(child); err == nil {
				return true
			}
		}
	}
	return false
}

// untagOrder puts tags before digests, as docker prints them.
func untagOrder(name string) string {
	if _, dg := registry.SplitDigest(name); dg != "" {
		return "1" + name
	}
	return "0" + name
}
