package container

// --link NAME[:ALIAS] (issue 19), docker's legacy links. create resolves
// each link to the linked container (resolveLinks). Every start on the
// default bridge then reads the linked containers' records as they are
// now: an /etc/hosts entry and docker's environment variables for each
// (linkHosts, linkEnv), and the start fails while one is not running, as
// docker's does; a linked container that starts again puts its new
// address into the entries that name it (updateLinkingHosts). On a user
// network a link is a DNS alias that only the linking container resolves
// (nameLinks).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// errLinkToHost is docker's refusal of a link to a container on the
// host's network.
var errLinkToHost = errors.New("conflicting options: host type networking can't be used with links. This would result in undefined behavior")

// resolveLinks checks run's --link values (as typed) and records them in
// h.Links, the targets resolved to ids, with docker's errors. On the
// default bridge (and none) the target must exist; a target that shares
// another container's network (container:) is that container, as docker
// follows it. On a user network docker resolves the alias by the
// target's name when asked, so a target that does not exist yet is
// recorded by name alone.
func (s Store) resolveLinks(h *state.Host, links []string) error {
	h.Links = nil
	for _, v := range links {
		name, alias, err := spec.ParseLink(v)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(h.Links, func(l state.Link) bool { return l.Alias == alias }) {
			continue // docker keeps the first link of an alias and ignores the others
		}
		if spec.IsUserNetwork(h.NetworkMode) {
			l := state.Link{Name: name, Alias: alias}
			if t, err := s.Lookup(name); err == nil {
				l.ID, l.Name = t.ID, t.Name
			}
			h.Links = append(h.Links, l)
			continue
		}
		t, err := s.linkedContainer(name)
		if err != nil {
			return err
		}
		h.Links = append(h.Links, state.Link{ID: t.ID, Name: t.Name, Alias: alias})
	}
	return nil
}

// linkedContainer is the container a link to name reaches: name's, or the
// one whose network namespace it shares (--network container:), and so
// on; one on the host's network cannot be linked to.
func (s Store) linkedContainer(name string) (*state.Container, error) {
	t, err := s.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("could not get container for %s: %w", name, err)
	}
	// Each container: target existed before the container joining it, so
	// the chain has no loop; the bound only guards against a bad record.
	for hops := 0; joinedContainer(t.Host.NetworkMode) != ""; hops++ {
		id := joinedContainer(t.Host.NetworkMode)
		if hops == 16 {
			return nil, fmt.Errorf("could not get container for %s: too many shared network namespaces", name)
		}
		if t, err = s.Lookup(id); err != nil {
			return nil, fmt.Errorf("could not get container for %s: %w", id, err)
		}
	}
	if t.Host.NetworkMode == spec.NetworkHost {
		return nil, errLinkToHost
	}
	return t, nil
}

// bridgeLink is one link at a start on the default bridge.
type bridgeLink struct {
	name   string // "/SELF/ALIAS"
	alias  string
	target spec.LinkTarget
}

// bridgeLinks are the container's links with the linked containers as
// they are now, when it starts on the default bridge (none elsewhere, as
// docker's). A linked container removed since is left out (docker drops
// the link with it); one not on the default bridge or not running fails
// the start with docker's error.
func (c *Container) bridgeLinks() ([]bridgeLink, error) {
	if !c.Bridged() || len(c.State.Host.Links) == 0 {
		return nil, nil
	}
	out := make([]bridgeLink, 0, len(c.State.Host.Links))
	for _, l := range c.State.Host.Links {
		t, err := c.store.Lookup(l.ID)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("link to %s: %w", l.Name, err)
		}
		name := spec.LinkName(c.State.Name, l.Alias)
		switch {
		case t.Host.NetworkMode != spec.NetworkBridge:
			return nil, fmt.Errorf("Cannot link to /%s, as it does not belong to the default network", t.Name)
		case !t.Status.Up():
			return nil, fmt.Errorf("Cannot link to a non running container: /%s AS %s", t.Name, name)
		case t.Network == nil || t.Network.Network != network.BridgeName || t.Network.IPAddress == "":
			return nil, fmt.Errorf("container %s not attached to default bridge network", t.ID)
		}
		out = append(out, bridgeLink{name: name, alias: l.Alias, target: spec.LinkTarget{
			Name: t.Name, Hostname: t.Config.Hostname, IP: t.Network.IPAddress,
			ExposedPorts: t.Config.ExposedPorts, Env: t.Config.Env,
		}})
	}
	return out, nil
}

// linkHosts are the /etc/hosts entries of the container's links at a
// start on the default bridge, in --add-host's "NAMES:IP" form
// (docker's "IP ALIAS HOSTNAME NAME" once written); an error when a
// linked container is not running (docker's "Cannot link to a non
// running container"). Each linked container is marked first, so that
// its next start updates the entry (updateLinkingHosts).
func (c *Container) linkHosts() ([]string, error) {
	if c.Bridged() {
		c.markLinked()
	}
	links, err := c.bridgeLinks()
	if err != nil {
		return nil, err
	}
	hosts := make([]string, 0, len(links))
	for _, l := range links {
		hosts = append(hosts, spec.LinkHost(l.alias, l.target))
	}
	return hosts, nil
}

// linkEnv are docker's link environment variables (ALIAS_PORT_80_TCP ...,
// ALIAS_NAME, ALIAS_ENV_...), added to the process's at a start.
func (c *Container) linkEnv() ([]string, error) {
	links, err := c.bridgeLinks()
	if err != nil {
		return nil, err
	}
	var env []string
	for _, l := range links {
		env = append(env, spec.LinkEnv(l.name, l.target)...)
	}
	return env, nil
}

// specWithLinks is the config.json this start's init gets: c.spec with
// the links' variables in its process's environment (c.spec itself, and
// the file, unchanged: the next start reads the linked containers anew).
func (c *Container) specWithLinks() ([]byte, error) {
	env, err := c.linkEnv()
	if err != nil || len(env) == 0 {
		return c.spec, err
	}
	return spec.WithProcessEnv(c.spec, func(own []string) []string {
		return spec.WithLinkEnv(own, c.State.Config.Tty, env)
	})
}

// execLinkEnv are the link variables of a process exec'd in running
// container rec: docker's exec makes its environment as a start does,
// the links read anew (one not running fails the exec), the container's
// own variables winning over a link's.
func (s Store) execLinkEnv(rec *state.Container) ([]string, error) {
	env, err := (&Container{State: rec, store: s}).linkEnv()
	if err != nil {
		return nil, err
	}
	out := env[:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); spec.IndexEnv(rec.Config.Env, k) < 0 {
			out = append(out, kv)
		}
	}
	return out, nil
}

// nameLinks are the container's links as names its DNS responder answers
// on a user network (docker: a link there is an alias only the linking
// container resolves). As docker's resolver does, the alias follows the
// target's name: a link to a container that is gone or not yet created
// answers nothing.
func (c *Container) nameLinks() []network.NameLink {
	if !spec.IsUserNetwork(c.State.Host.NetworkMode) {
		return nil
	}
	var out []network.NameLink
	for _, l := range c.State.Host.Links {
		t, err := c.store.Lookup(l.Name)
		if err != nil {
			continue
		}
		// The responder is asked lowercase names.
		out = append(out, network.NameLink{Alias: strings.ToLower(l.Alias), ContainerID: t.ID})
	}
	return out
}

// linkedByDir is where a container keeps a mark of each container that
// links to it on the default bridge, an empty file named by the linking
// container's id: its start reads one directory, not every record, to
// find the /etc/hosts entries that name it. A mark outlives its link
// (the linking container removed, or recreated without it); the start
// that finds it so removes it.
const linkedByDir = "linked-by"

// markLinked marks each container this one links to (linkedByDir). A
// linked container that is gone has no directory left to mark.
func (c *Container) markLinked() {
	for _, l := range c.State.Host.Links {
		dir, err := state.Dir(c.store.Root, l.ID)
		if err != nil {
			continue
		}
		dir = filepath.Join(dir, linkedByDir)
		if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			continue
		}
		if f, err := os.OpenFile(filepath.Join(dir, c.State.ID), os.O_WRONLY|os.O_CREATE, 0o600); err == nil {
			f.Close()
		}
	}
}

// updateLinkingHosts gives the containers running with a link to this
// one its new address in their /etc/hosts, as docker updates a link's
// entry when the linked container starts again (skiff's addresses are
// the lowest free at each start). Called once the start is recorded; a
// container nobody links to costs one failed open.
func (c *Container) updateLinkingHosts() {
	if !c.Bridged() || c.State.Network == nil {
		return
	}
	marks := filepath.Join(c.Dir, linkedByDir)
	ents, err := os.ReadDir(marks)
	if err != nil {
		return
	}
	for _, e := range ents {
		linking, err := state.Load(c.store.Root, e.Name())
		if errors.Is(err, state.ErrNotFound) || (err == nil && !linksTo(linking, c.State.ID)) {
			os.Remove(filepath.Join(marks, e.Name()))
			continue
		}
		if err != nil || !linking.Status.Up() || linking.Host.NetworkMode != spec.NetworkBridge {
			continue
		}
		if err := c.updateHostsOf(linking); err != nil {
			fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(linking.ID), err)
		}
	}
}

// linksTo reports whether container rec has a link to container id.
func linksTo(rec *state.Container, id string) bool {
	return slices.ContainsFunc(rec.Host.Links, func(l state.Link) bool { return l.ID == id })
}

// updateHostsOf rewrites the entries of linking's /etc/hosts for its
// links to this container with this container's address, under
// linking's lock (two linked containers starting at once each edit it).
func (c *Container) updateHostsOf(linking *state.Container) error {
	l, err := state.LockContainer(c.store.RunRoot, linking.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	dir, err := state.Dir(c.store.Root, linking.ID)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "hosts")
	hosts, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("update its /etc/hosts: %w", err)
	}
	updated := string(hosts)
	for _, link := range linking.Host.Links {
		if link.ID == c.State.ID {
			updated = spec.UpdateHostsEntry(updated, link.Alias, c.State.Network.IPAddress)
		}
	}
	if updated == string(hosts) {
		return nil
	}
	if err := rewriteInPlace(path, []byte(updated)); err != nil {
		return fmt.Errorf("update its /etc/hosts: %w", err)
	}
	return nil
}
