package container

// --link NAME[:ALIAS] (issue 19), docker's legacy links on the default
// bridge: an /etc/hosts entry and environment variables for each linked
// container, read at every start.

import (
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/state"
)

// resolveLinks checks run's --link values (as typed) and records them in
// h.Links, the targets resolved to ids, with docker's errors.
func (s Store) resolveLinks(h *state.Host, links []string) error { return nil }

// linkHosts are the /etc/hosts lines of the container's links at a start
// (docker's "IP ALIAS HOSTNAME NAME"); an error when a linked container is
// not running (docker's "Cannot link to a non running container").
func (c *Container) linkHosts() ([]string, error) { return nil, nil }

// linkEnv are docker's link environment variables (ALIAS_PORT_80_TCP ...,
// ALIAS_NAME, ALIAS_ENV_...), added to the process's at a start.
func (c *Container) linkEnv() ([]string, error) { return nil, nil }

// nameLinks are the container's links as names its DNS responder answers
// on a user network (docker: a link there is an alias only the linking
// container resolves).
func (c *Container) nameLinks() []network.NameLink { return nil }
