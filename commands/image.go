package commands

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(imageGroupCommand) }

func imageGroupCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "manage images",
		Subcommands: []*cli.Command{
			pullCommand("pull"),
			imagesCommand("ls", "list"),
			rmiCommand("rm", "remove"),
			tagCommand("tag"),
			inspectImageCommand("inspect"),
			importCommand(),
			imagePruneCommand(), historyCommand("history"),
			saveCommand("save"),
			loadCommand("load"),
		},
	}
}

// openStore opens the image store under --root.
func openStore(c *cli.Context) (*Globals, *store.Store, error) {
	g, err := globals(c)
	if err != nil {
		return nil, nil, err
	}
	s, err := store.Open(g.Paths.Root)
	if err != nil {
		return nil, nil, err
	}
	return g, s, nil
}

// containersByImage is which images containers use: image id -> the ids of
// the containers using it, newest first. Every container counts, in any
// state (created, running, exited): each still needs its image's layers to
// start and its config to commit. It is the one join of the container
// records and the image store (state and store are leaves that do not
// import each other): rmi, image prune and system df all ask it.
func containersByImage(g *Globals) (map[string][]string, error) {
	cs, err := g.Containers().List()
	if err != nil {
		return nil, err
	}
	used := map[string][]string{}
	for _, c := range cs {
		used[c.ImageID] = append(used[c.ImageID], c.ID)
	}
	return used, nil
}

// keepImages opens the image store and holds off rmi until release: run
// and create take it before they look up their image and release it once
// their container's record names the image, so rmi -f cannot delete the
// image's layers between the two (see store.DeleteImage).
func keepImages(g *Globals) (s *store.Store, release func(), err error) {
	if s, err = store.Open(g.Paths.Root); err != nil {
		return nil, nil, err
	}
	if release, err = s.KeepLayers(); err != nil {
		return nil, nil, err
	}
	return s, release, nil
}

// findImage resolves what a user typed as docker does: a name (short or
// canonical, tag or digest) first, then a full id or an id prefix.
func findImage(s *store.Store, arg string) (*store.Image, error) {
	canon, badRef := registry.Normalize(arg)
	if badRef == nil {
		img, err := s.LookupImage(canon)
		if err == nil || !errors.Is(err, store.ErrImageNotFound) {
			return img, err
		}
	}
	img, err := s.LookupImage(arg)
	switch {
	case !errors.Is(err, store.ErrImageNotFound):
		return img, err
	case badRef != nil: // neither a name nor an id: docker's format error
		return nil, notAnImageRef{badRef}
	}
	return nil, noSuchImage(arg)
}

// notAnImageRef is what is neither a valid name nor an image id: docker's
// "invalid reference format" where one image was asked for, "No such
// object" for inspect's any-kind lookup (it counts as not found).
type notAnImageRef struct{ err error }

func (e notAnImageRef) Error() string        { return e.err.Error() }
func (e notAnImageRef) Unwrap() error        { return e.err }
func (e notAnImageRef) Is(target error) bool { return target == store.ErrImageNotFound }

// noSuchImage is docker's error for a reference that names no image: the
// reference as typed, with the tag it defaults to (No such image: x:latest).
type noSuchImage string

func (e noSuchImage) Error() string {
	ref := string(e)
	if !registry.HasTagOrDigest(ref) {
		ref += ":latest"
	}
	return "No such image: " + ref
}

func (e noSuchImage) Is(target error) bool { return target == store.ErrImageNotFound }
