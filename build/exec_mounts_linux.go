package build

// RUN --mount: BuildKit's mounts made into the build container's
// Host.Mounts, the way run's -v and --mount are, so the init mounts them
// inside the root and commit leaves their destinations out of the layer:
//
//   cache   a persistent directory under <root>/buildcache/mounts (by id,
//           the target by default), in no layer and no cache key; `skiff
//           builder prune` empties them
//   bind    a copy of a path of the context or of a stage's or image's
//           filesystem (so rw writes are discarded), read-only by default;
//           its content (the image id, COPY's context checksum) keys the step
//   secret  a --secret's value in a file on the run root (a tmpfs), bound
//           read-only at /run/secrets/<id>, or (env=) in the RUN's process
//           environment; never in a layer, the history or the cache key
//   tmpfs   an empty tmpfs

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/state"
)

// CacheMountsDir holds the RUN --mount=type=cache directories of the
// store at root.
func CacheMountsDir(root string) string { return filepath.Join(root, "buildcache", "mounts") }

// secretsTmp is where a build writes its secrets for their binds: on the
// run root, a tmpfs, swept with the build containers when a build dies.
func secretsTmp(runRoot string) string { return filepath.Join(runRoot, "tmp") }

// runMounts are a RUN's mounts, ready for its container.
type runMounts struct {
	mounts []state.Mount
	key    []string        // what the mounts add to the step's cache key
	env    []string        // secrets with env=: NAME=value for the RUN's process only
	undo   []func()        // temporary copies to remove, locks to release
	held   map[string]bool // cache dirs this RUN holds the lock of
}

// release removes what the mounts needed only during the RUN.
func (m *runMounts) release() {
	for i := len(m.undo) - 1; i >= 0; i-- {
		m.undo[i]()
	}
}

// unsupportedMount refuses a --mount of a type skiff does not make, at
// parse, so the error names the instruction's line. BuildKit's parse reads
// only from= until the step's words are expanded: the fields are read here
// as written, and read again with their values at the step. A field that
// fails as written (uid=$UID) is left to the step, where it has its value.
func unsupportedMount(c *instructions.RunCommand) error {
	if err := c.Expand(func(word string) (string, error) { return word, nil }); err != nil {
		return nil
	}
	for _, m := range instructions.GetMounts(c) {
		switch m.Type {
		case instructions.MountTypeCache, instructions.MountTypeBind, instructions.MountTypeSecret, instructions.MountTypeTmpfs:
		default:
			return fmt.Errorf("RUN --mount=type=%s is not supported yet", m.Type)
		}
	}
	return nil
}

// runMounts makes c's --mount flags into mounts for s's RUN.
func (e *executor) runMounts(ctx context.Context, s *stageState, c *instructions.RunCommand) (*runMounts, error) {
	rm := &runMounts{}
	for _, m := range instructions.GetMounts(c) {
		if err := e.addMount(ctx, rm, s, m); err != nil {
			rm.release()
			return nil, err
		}
		// What the mount is (not what it holds) is part of the step, as
		// in BuildKit's exec op: another target or cache id misses.
		rm.key = append(rm.key, fmt.Sprintf("mount %s %s %s %s %v %v", m.Type, m.Target, m.CacheID, m.CacheSharing, m.ReadOnly, m.Required))
	}
	return rm, nil
}

func (e *executor) addMount(ctx context.Context, rm *runMounts, s *stageState, m *instructions.Mount) error {
	target := m.Target
	if target != "" && !path.IsAbs(target) {
		target = path.Join(cmp.Or(s.cfg.Config.WorkingDir, "/"), target)
	}
	if m.Type != instructions.MountTypeSecret && path.Clean("/"+target) == "/" {
		return fmt.Errorf("invalid mount target %q", path.Clean("/"+target))
	}
	switch m.Type {
	case instructions.MountTypeTmpfs:
		opts := []string{"exec"}
		if m.SizeLimit > 0 {
			opts = append(opts, "size="+strconv.FormatInt(m.SizeLimit, 10))
		}
		rm.mounts = append(rm.mounts, state.Mount{Type: "tmpfs", Destination: path.Clean(target), Options: opts})
		return nil
	case instructions.MountTypeCache:
		return e.cacheMount(rm, m, path.Clean(target))
	case instructions.MountTypeBind:
		return e.bindMount(ctx, rm, m, path.Clean(target))
	case instructions.MountTypeSecret:
		return e.secretMount(rm, m, s.cfg.Config.WorkingDir)
	}
	return fmt.Errorf("RUN --mount=type=%s is not supported yet", m.Type)
}

// cacheMount binds the persistent directory of the mount's id (the
// target by default), shared as the mount says (shareCache).
func (e *executor) cacheMount(rm *runMounts, m *instructions.Mount, target string) error {
	if m.From != "" {
		return errors.New("RUN --mount=type=cache,from= is not supported yet")
	}
	id := cmp.Or(m.CacheID, target)
	sum := sha256.Sum256([]byte(id))
	dir := filepath.Join(CacheMountsDir(e.o.Images.Root()), hex.EncodeToString(sum[:16]))
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := newCacheDir(dir, m); err != nil {
			return err
		}
	}
	dir, err := e.shareCache(rm, dir, m.CacheSharing)
	if err != nil {
		return fmt.Errorf("cache mount %s: %w", id, err)
	}
	if src := path.Clean("/" + m.Source); src != "/" {
		// source= mounts a directory of the cache.
		dir = filepath.Join(dir, filepath.FromSlash(src))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cache mount %s: %w", id, err)
		}
	}
	rm.mounts = append(rm.mounts, state.Mount{Type: "bind", Source: dir, Destination: target, ReadOnly: m.ReadOnly})
	return nil
}

// shareCache applies a cache dir's sharing: "locked" waits for other
// builds using it and holds its lock for the RUN; "private" holds it, or
// takes a fresh directory (discarded after) when another build does. A
// dir this RUN holds already (mounted twice) is its own.
func (e *executor) shareCache(rm *runMounts, dir string, sharing instructions.ShareMode) (string, error) {
	if rm.held[dir] || (sharing != instructions.MountSharingLocked && sharing != instructions.MountSharingPrivate) {
		return dir, nil
	}
	fd, err := lockDir(dir, sharing == instructions.MountSharingPrivate)
	if err != nil && sharing == instructions.MountSharingPrivate {
		tmp, done, err := e.lockedTemp(filepath.Dir(dir))
		if err != nil {
			return "", err
		}
		rm.undo = append(rm.undo, done)
		return tmp, nil
	}
	if err != nil {
		return "", err
	}
	if rm.held == nil {
		rm.held = map[string]bool{}
	}
	rm.held[dir] = true
	rm.undo = append(rm.undo, func() { unix.Close(fd) })
	return dir, nil
}

// newCacheDir creates a cache mount's directory with the mount's owner
// and mode (BuildKit's defaults: root, 0755), renamed into place whole.
func newCacheDir(dir string, m *instructions.Mount) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".new-")
	if err != nil {
		return err
	}
	if err := setOwner(tmp, m, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("cache mount: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		if _, serr := os.Stat(dir); serr == nil {
			return nil // another build made it meanwhile
		}
		return fmt.Errorf("cache mount: %w", err)
	}
	return nil
}

// setOwner gives p the mount's uid, gid and mode (root's and def when
// not given), as BuildKit's; without root only the mode is set.
func setOwner(p string, m *instructions.Mount, def os.FileMode) error {
	mode := def
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode & 0o777)
	}
	if err := os.Chmod(p, mode); err != nil || os.Geteuid() != 0 {
		return err
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	return os.Lchown(p, uid, gid)
}

// lockedTemp is a new directory under parent that the sweep of killed
// builds removes once its lock is free; done removes it.
func (e *executor) lockedTemp(parent string) (string, func(), error) {
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp(parent, stdinContextPrefix)
	if err != nil {
		return "", nil, err
	}
	fd, err := lockDir(dir, false)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { os.RemoveAll(dir); unix.Close(fd) }, nil
}

// bindMount binds a copy of the source path of the context, or of the
// stage or image from= names: a rw mount's writes go to the copy and are
// discarded. The image's id, or the context files' checksum (COPY's), is
// part of the step's cache key.
func (e *executor) bindMount(ctx context.Context, rm *runMounts, m *instructions.Mount, target string) error {
	rootfd, done, what, err := e.bindRoot(ctx, m.From)
	if err != nil {
		return err
	}
	defer done()
	tmp, remove, err := e.lockedTemp(StdinTmp(e.o.Containers))
	if err != nil {
		return err
	}
	rm.undo = append(rm.undo, remove)
	src, err := resolveInRoot(rootfd, path.Clean("/" + m.Source)[1:])
	if err != nil {
		return fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
	}
	fd, err := unix.Openat(rootfd, cmp.Or(src, "."), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, &os.PathError{Op: "open", Path: m.Source, Err: err})
	}
	defer unix.Close(fd)
	pr, pw := io.Pipe()
	go func() {
		o := archive.WriteOptions{Rebase: "x", Xattrs: true}
		if m.From == "" {
			o.Skip = e.ignoredUnder(src)
		}
		pw.CloseWithError(archive.Write(pw, fd, o))
	}()
	_, err = archive.ExtractDir(pr, tmp, archive.ExtractOptions{Chown: os.Geteuid() == 0, Xattrs: true, ReplaceDirs: true})
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
	}
	if what == "context" {
		// As COPY's: content, mode, owner, not mtime.
		srcs, err := e.o.Context.Sources([]string{cmp.Or(src, ".")})
		if err != nil {
			return fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
		}
		if what, err = e.o.Context.Checksum(srcs); err != nil {
			return fmt.Errorf("RUN --mount=type=bind,source=%s: %w", m.Source, err)
		}
	}
	rm.mounts = append(rm.mounts, state.Mount{Type: "bind", Source: filepath.Join(tmp, "x"), Destination: target, ReadOnly: m.ReadOnly})
	rm.key = append(rm.key, fmt.Sprintf("bind %s %s", m.Source, what))
	return nil
}

// ignoredUnder says which entries below the context path dir the
// .dockerignore excludes: a bind of the context sees what a COPY would.
func (e *executor) ignoredUnder(dir string) func(rel string, mode uint32, size int64) bool {
	ignore := e.o.Context.ignore
	if ignore == nil {
		return nil
	}
	return func(rel string, _ uint32, _ int64) bool {
		ex, err := ignore.MatchesOrParentMatches(path.Join(dir, rel))
		return err == nil && ex
	}
}

// bindRoot opens the root a bind's source is read in: the context's
// directory, or the filesystem of the stage or image from names.
func (e *executor) bindRoot(ctx context.Context, from string) (int, func(), string, error) {
	if from == "" {
		if e.o.Context == nil {
			return -1, nil, "", errors.New("RUN --mount=type=bind: the build has no context")
		}
		fd, err := unix.Open(e.o.Context.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, nil, "", &os.PathError{Op: "open", Path: e.o.Context.Dir, Err: err}
		}
		return fd, func() { unix.Close(fd) }, "context", nil
	}
	img, err := e.fromImage(ctx, from)
	if err != nil {
		return -1, nil, "", err
	}
	fd, done, err := e.imageView(img)
	if err != nil {
		return -1, nil, "", err
	}
	return fd, done, img.ID, nil
}

// secretMount writes the --secret of the mount's id to a file on the run
// root and binds it read-only; a missing secret fails the RUN only when
// required.
func (e *executor) secretMount(rm *runMounts, m *instructions.Mount, workdir string) error {
	id := cmp.Or(m.Source, m.CacheID, path.Base(m.Target))
	value, ok := e.o.Secrets[id]
	if !ok {
		if m.Required {
			return fmt.Errorf("secret %s: not found", id)
		}
		return nil
	}
	if m.Env != nil {
		rm.env = append(rm.env, *m.Env+"="+string(value))
		if m.Target == "" {
			return nil
		}
	}
	target := cmp.Or(m.Target, secretsDir+"/"+path.Base(id))
	if !path.IsAbs(target) {
		target = path.Join(cmp.Or(workdir, "/"), target)
	}
	dir, remove, err := e.lockedTemp(secretsTmp(e.o.Containers.RunRoot))
	if err != nil {
		return err
	}
	rm.undo = append(rm.undo, remove)
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, value, 0o400); err != nil {
		return fmt.Errorf("secret %s: %w", id, err)
	}
	if err := setOwner(file, m, 0o400); err != nil {
		return fmt.Errorf("secret %s: %w", id, err)
	}
	target = path.Clean(target)
	if path.Dir(target) == secretsDir && !slices.ContainsFunc(rm.mounts, func(m state.Mount) bool { return m.Destination == secretsDir }) {
		// BuildKit's: /run/secrets is a tmpfs, so the file's mount point
		// is made there and the directory is in no layer.
		rm.mounts = append(rm.mounts, state.Mount{Type: "tmpfs", Destination: secretsDir, Options: []string{"mode=755"}})
	}
	rm.mounts = append(rm.mounts, state.Mount{Type: "bind", Source: file, Destination: target, ReadOnly: true})
	return nil
}

// secretsDir is where a secret is mounted when its target is not given.
const secretsDir = "/run/secrets"

// PruneCacheMounts removes the RUN --mount=type=cache directories of the
// store at root that no build uses now (a build holding a locked or
// private one keeps it) and returns their ids and the space they held.
func PruneCacheMounts(root string) (ids []string, space int64, err error) {
	dir := CacheMountsDir(root)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, nil
	} else if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fd, err := lockDir(p, true)
		if err != nil {
			continue
		}
		size := treeSize(p)
		err = os.RemoveAll(p)
		unix.Close(fd)
		if err != nil {
			return ids, space, fmt.Errorf("remove cache mount %s: %w", e.Name(), err)
		}
		ids = append(ids, e.Name())
		space += size
	}
	return ids, space, nil
}

// treeSize is the size of the regular files under dir.
func treeSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
