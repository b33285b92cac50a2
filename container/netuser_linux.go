package container

// A container's user networks (issue 19): connect and disconnect, and the
// store of networks the container package reads.

import (
	"errors"

	"github.com/skiff-dev/skiff/network"
)

// ConnectOptions are `network connect`'s flags.
type ConnectOptions struct {
	Aliases []string // --alias
	IP      string   // --ip ("": the next free address)
}

// UserNetworks is the store's user networks (records under Root, members
// and addresses under the run root).
func (s Store) UserNetworks() *network.UserNetworks {
	return network.NewUserNetworks(s.Root, s.bridge())
}

var errNotYet = errors.New("user networks are not wired yet")

// Connect is `network connect [--alias --ip] NET CONTAINER`: the network
// added to the container's record (a stopped container joins it at its
// next start), and, when it runs, attached at once (its next ethN), as
// docker does. docker's errors: an unknown network or container, a
// container already on it, one in host or container: network mode.
func (s Store) Connect(ctRef, netRef string, o ConnectOptions) error { return errNotYet }

// Disconnect is `network disconnect [-f] NET CONTAINER`: the network taken
// off the record and, when the container runs, its interface on it
// removed. force: no error when the container is gone or not on it (its
// member record, if any, is removed).
func (s Store) Disconnect(ctRef, netRef string, force bool) error { return errNotYet }
