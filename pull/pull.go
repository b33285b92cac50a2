package pull

import (
	"context"
	"errors"
	"io"

	"github.com/skiff-dev/skiff/store"
)

// Options tune a pull.
type Options struct {
	Insecure []string  // registries reached over plain http besides localhost and 127.0.0.0/8
	Quiet    bool      // print nothing (the command prints the ref)
	Out      io.Writer // progress; a terminal gets docker's redrawn bars
	Platform string    // "os/arch[/variant]"; empty means the host's
}

// Pull fetches ref into s and returns the stored image.
func Pull(ctx context.Context, s *store.Store, ref string, o Options) (*store.Image, error) {
	return nil, errors.New("pull: not implemented yet")
}
