package container

import (
	"fmt"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/state"
)

// Store is where containers live: Root holds their records and
// directories, RunRoot their locks, monitor locks and sockets
// (config.Paths). A command builds it once from its globals.
type Store struct {
	Root, RunRoot string
	// Networks is the bridge's run dir (network.Config.RunDir) when it is
	// not under RunRoot: build's containers, kept apart in their own
	// store, share the one bridge and address allocator of the run root.
	Networks string
	// StorageDriver is the config file's "storage-driver" for a rootless
	// container's root: "fuse-overlayfs" or "overlay"/"overlay2" forces
	// it, "" takes what the kernel can (rootfs.RootlessOverlay).
	StorageDriver string
}

// bridge is the default bridge's config for a start: where its settings
// and address allocations are.
func (s Store) bridge() network.Config {
	if s.Networks != "" {
		return network.Config{RunDir: s.Networks}
	}
	return network.Config{RunDir: network.RunDir(s.RunRoot)}
}

// Lookup finds ref (full id, name, or unique id prefix, in docker's order
// of precedence) and returns its true record: a dead monitor's leftovers
// reconciled, and an exit its live monitor is recording waited for, so a
// caller never sees a stale status. It is the one lookup of a container.
// A miss matches state.ErrNotFound; a prefix of several containers is a
// *state.AmbiguousError.
func (s Store) Lookup(ref string) (*state.Container, error) {
	c, err := s.resolve(ref)
	if err != nil {
		return nil, err
	}
	if c.Orphaned && state.MonitorAlive(s.RunRoot, c.ID) {
		// The process is gone and its monitor is about to record how;
		// a monitor that takes longer is stuck, and shown as it is.
		deadline := time.Now().Add(monitorLinger)
		for c.Orphaned && time.Now().Before(deadline) && state.MonitorAlive(s.RunRoot, c.ID) {
			time.Sleep(2 * time.Millisecond)
			if c, err = state.Load(s.Root, c.ID); err != nil {
				return nil, err
			}
		}
	}
	return s.Reconcile(c)
}

// resolve reads ref's record as it is on disk.
func (s Store) resolve(ref string) (*state.Container, error) {
	if ref == "" {
		return nil, &state.NotFoundError{Ref: ref}
	}
	if state.ValidID(ref) {
		if c, err := state.Load(s.Root, ref); err == nil {
			return c, nil
		}
	}
	all, err := state.List(s.Root)
	if err != nil {
		return nil, err
	}
	name := strings.TrimPrefix(ref, "/")
	for _, c := range all {
		if c.Name == name {
			return c, nil
		}
	}
	var found *state.Container
	for _, c := range all {
		if strings.HasPrefix(c.ID, ref) {
			if found != nil {
				return nil, &state.AmbiguousError{Ref: ref}
			}
			found = c
		}
	}
	if found == nil {
		return nil, &state.NotFoundError{Ref: ref}
	}
	return found, nil
}

// List is every container's record, newest first, as on disk (ps
// reconciles only what claims a process, through Lookup).
func (s Store) List() ([]*state.Container, error) { return state.List(s.Root) }

// Dir is container id's directory under Root.
func (s Store) Dir(id string) (string, error) { return state.Dir(s.Root, id) }

// Rename is `skiff rename`: ref gets newName (state.Rename's rules and
// locking). It returns the old name.
func (s Store) Rename(ref, newName string) (string, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return "", err
	}
	old, err := state.Rename(s.Root, s.RunRoot, c.ID, newName)
	if err != nil {
		return "", err
	}
	// A running container's names on its user networks follow at once.
	if err := s.UserNetworks().RenameMember(c.ID, newName); err != nil {
		return old, fmt.Errorf("rename %s on its networks: %w", old, err)
	}
	return old, nil
}

// LowerDirs are c's image layers in overlay's order, top layer first
// (inspect's GraphDriver.Data.LowerDir).
func LowerDirs(c *state.Container) []string { return topFirst(c.Layers) }

// lockRecord takes id's container lock and reads its record again under
// it: what another command changed while we waited is what we act on.
// The caller unlocks.
func (s Store) lockRecord(id string) (*state.Container, *state.Lock, error) {
	l, err := state.LockContainer(s.RunRoot, id)
	if err != nil {
		return nil, nil, err
	}
	c, err := state.Load(s.Root, id)
	if err != nil {
		l.Unlock()
		return nil, nil, err
	}
	return c, l, nil
}
