package volume

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Store is the volumes under Root (config.Paths.Root), in docker's layout:
//
//	volumes/.lock               flock: shared by a create or run until its record names its
//	                            volumes (Hold), exclusive while rm/prune check use and delete
//	volumes/.tmp/<rand>/        a create in progress (flocked by its writer), or a removed
//	                            volume being deleted; an unlocked one is debris, swept
//	volumes/<name>/volume.json  the metadata: driver, labels, options, created, anonymous
//	volumes/<name>/_data/       the data, which a container mounts
//	volumes/<name>/.fill-<rand>/ a copy-up in progress (Fill)
//
// A valid name never starts with a dot, so skiff's own entries cannot
// collide with a volume.
type Store struct{ Root string }

func (s Store) dir() string                { return filepath.Join(s.Root, "volumes") }
func (s Store) tmpDir() string             { return filepath.Join(s.dir(), ".tmp") }
func (s Store) path(name string) string    { return filepath.Join(s.dir(), name) }
func (s Store) mountpoint(n string) string { return filepath.Join(s.path(n), dataDir) }

// Create makes volume name ("" for a new anonymous one, 64 hex) and
// returns it; an existing name is returned as it is. The volume is built
// in a temporary directory and renamed into place, so a killed create
// leaves no volume, only debris the next create sweeps. Errors read as
// docker's: "create NAME: ...".
func (s Store) Create(name string, o CreateOptions) (*Volume, error) {
	if name == "" {
		name = randomHex(32)
		o.Anonymous = true
	}
	if err := ValidName(name); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if err := validOptions(o.Driver, o.Options); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	if v, err := s.Get(name); err == nil || !errors.Is(err, ErrNotFound) {
		return v, err
	}
	v := &Volume{
		Name: name, Driver: DefaultDriver, CreatedAt: time.Now().UTC().Truncate(time.Second),
		Labels: o.Labels, Options: o.Options, Anonymous: o.Anonymous,
	}
	if v.Anonymous {
		v.Labels = labelsWith(o.Labels, AnonymousLabel, "")
	}
	if err := s.publish(v); err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return s.Get(name)
}

// publish writes v in a locked temporary directory and renames it into
// place; a volume another create published first wins.
func (s Store) publish(v *Volume) error {
	if err := s.makeDirs(); err != nil {
		return err
	}
	sweep(s.tmpDir(), "")
	tmp, unlock, err := lockedTemp(s.tmpDir(), "")
	if err != nil {
		return err
	}
	defer unlock()
	defer os.RemoveAll(tmp) // gone after a successful rename
	if err := os.Chmod(tmp, 0o701); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(tmp, dataDir), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, metaFile), b, 0o600); err != nil {
		return err
	}
	if err := rename(tmp, s.path(v.Name)); err != nil && !isNotEmpty(err) {
		return err
	}
	return nil
}

// makeDirs makes volumes/ (docker's mode: others may reach a _data, not
// list the names) and volumes/.tmp.
func (s Store) makeDirs() error {
	if err := os.MkdirAll(s.dir(), 0o701); err != nil {
		return err
	}
	if err := os.Mkdir(s.tmpDir(), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// Get reads volume name; a miss matches ErrNotFound ("get NAME: no such volume").
func (s Store) Get(name string) (*Volume, error) {
	if !validName(name) {
		return nil, fmt.Errorf("get %s: %w", name, ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(s.path(name), metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get %s: %w", name, ErrNotFound)
	} else if err != nil {
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	var v Volume
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("get %s: reading %s: %w", name, metaFile, err)
	}
	v.Name, v.Mountpoint = name, s.mountpoint(name)
	return &v, nil
}

// List returns every volume, sorted by name.
func (s Store) List() ([]*Volume, error) {
	ents, err := os.ReadDir(s.dir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("list volumes: %w", err)
	}
	var vs []*Volume
	for _, e := range ents {
		if !e.IsDir() || !validName(e.Name()) {
			continue
		}
		v, err := s.Get(e.Name())
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		} else if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	slices.SortFunc(vs, func(a, b *Volume) int { return strings.Compare(a.Name, b.Name) })
	return vs, nil
}

// Remove deletes volume name and its data. The caller has checked, under
// Exclusive, that no container uses it. The volume disappears by one
// rename into .tmp, then is deleted there: a killed remove leaves debris
// for the next create, never half a volume.
func (s Store) Remove(name string) error {
	if _, err := s.Get(name); err != nil {
		return err
	}
	if err := s.makeDirs(); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	doomed := filepath.Join(s.tmpDir(), "rm-"+randomHex(8))
	if err := os.Rename(s.path(name), doomed); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("get %s: %w", name, ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	sweep(s.tmpDir(), "rm-")
	return nil
}

// Fill is docker's copy-up: fill writes the image's content into dir, a
// temporary directory beside _data (same filesystem); Fill then renames
// it over _data only if _data is still empty (rename(2) replaces an empty
// directory atomically), else discards it. A kill -9 leaves the volume
// empty or complete, never half-filled; its debris is swept by the next
// Fill. fill also sets dir's own owner and mode, which _data takes.
func (s Store) Fill(v *Volume, fill func(dir string) error) error {
	parent := filepath.Dir(v.Mountpoint)
	sweep(parent, ".fill-")
	if empty, err := isEmptyDir(v.Mountpoint); err != nil || !empty {
		return err
	}
	tmp, unlock, err := lockedTemp(parent, ".fill-")
	if err != nil {
		return fmt.Errorf("fill volume %s: %w", v.Name, err)
	}
	defer unlock()
	defer os.RemoveAll(tmp) // gone after a successful rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("fill volume %s: %w", v.Name, err)
	}
	if err := fill(tmp); err != nil {
		return fmt.Errorf("fill volume %s: %w", v.Name, err)
	}
	if err := rename(tmp, v.Mountpoint); err != nil && !isNotEmpty(err) {
		return fmt.Errorf("fill volume %s: %w", v.Name, err)
	}
	return nil
}

// isEmptyDir reports whether dir has no entries.
func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if len(names) > 0 {
		return false, nil
	}
	if err != nil && err != io.EOF {
		return false, err
	}
	return true, nil
}

func labelsWith(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return hex.EncodeToString(b)
}
