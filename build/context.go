package build

// The build context: the directory a build reads COPY and ADD sources
// from, read in place. Docker's classic builder tars the whole context
// and sends it first, which with a large tree and a long .dockerignore is
// slow (moby#23470); here .dockerignore is applied while walking only
// the paths a COPY names, and nothing is copied.
//
// Paths never leave the context: a named source's symlinks are resolved
// inside it (as docker's FollowSymlinkInScope), a walk never descends a
// symlink, and files are opened with RESOLVE_IN_ROOT.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"github.com/skiff-dev/skiff/rootfs"
	"golang.org/x/sys/unix"
)

// Context is the build context directory, read in place (never copied)
// with .dockerignore (or <Dockerfile>.dockerignore) applied while walking
// (patternmatcher, `!` exceptions).
type Context struct {
	Dir    string                         // absolute path of the context directory
	rootfd int                            // O_PATH fd of Dir, the root of every open
	ignore *patternmatcher.PatternMatcher // nil: nothing excluded
	// Sums, when set, remembers file content sums across builds by
	// stat (LoadSumCache/Save are the caller's); nil reads every file.
	Sums *SumCache
}

// Source is one file or directory a COPY/ADD source names.
type Source struct {
	Rel  string      // path relative to the context root, slash-separated; "" is the root itself
	Info fs.FileInfo // Lstat
	// Root is the path the COPY source named (a glob's match, its
	// symlinks resolved) that Rel is Root itself or below: a directory
	// source copies what is below its Root.
	Root string
}

// OpenContext opens dir as a build context. dockerfilePath is the
// Dockerfile's path as -f gives it (relative to the working directory,
// as docker's CLI; "" or "-" when it comes from stdin): its
// <name>.dockerignore beside it wins over dir's .dockerignore, and, as
// docker's classic builder, the Dockerfile and .dockerignore themselves
// are never excluded.
func OpenContext(dir, dockerfilePath string) (*Context, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	df := ""
	if dockerfilePath != "" && dockerfilePath != "-" {
		if df, err = filepath.Abs(dockerfilePath); err != nil {
			return nil, fmt.Errorf("dockerfile %s: %w", dockerfilePath, err)
		}
	}
	patterns, err := readIgnoreFile(abs, df)
	if err != nil {
		return nil, err
	}
	if len(patterns) > 0 {
		patterns = keepBuildFiles(patterns, abs, df)
	}
	var pm *patternmatcher.PatternMatcher
	if len(patterns) > 0 {
		if pm, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("error checking context: %w", err)
		}
	}
	fd, err := unix.Open(abs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("unable to prepare context: %w", &os.PathError{Op: "open", Path: abs, Err: err})
	}
	return &Context{Dir: abs, rootfd: fd, ignore: pm}, nil
}

// Close releases the context's directory.
func (c *Context) Close() error {
	if c.rootfd < 0 {
		return nil
	}
	err := unix.Close(c.rootfd)
	c.rootfd = -1
	return err
}

// readIgnoreFile reads <Dockerfile>.dockerignore next to the Dockerfile
// (df: absolute, or "") if there is one, else the context's
// .dockerignore; none is no pattern.
func readIgnoreFile(dir, df string) ([]string, error) {
	var candidates []string
	if df != "" {
		candidates = append(candidates, df+".dockerignore")
	}
	candidates = append(candidates, filepath.Join(dir, ".dockerignore"))
	for _, name := range candidates {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("error reading %s: %w", name, err)
		}
		return patterns, nil
	}
	return nil, nil
}

// keepBuildFiles adds exceptions for .dockerignore and the Dockerfile
// (df: absolute, or ""; when inside the context) if the patterns exclude
// them, as docker's CLI does for the classic builder.
func keepBuildFiles(patterns []string, dir, df string) []string {
	keep := []string{".dockerignore"}
	if df != "" {
		if rel, err := filepath.Rel(dir, df); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			keep = append(keep, filepath.ToSlash(rel))
		}
	}
	for _, k := range keep {
		if excluded, _ := patternmatcher.MatchesOrParentMatches(k, patterns); excluded {
			patterns = append(patterns, "!"+k)
		}
	}
	return patterns
}

// NotFoundError is a COPY/ADD source that names nothing in the context.
type NotFoundError struct {
	Path string // the source as written
	Glob bool   // a pattern that matched nothing
}

func (e *NotFoundError) Error() string {
	if e.Glob {
		return "no source files were specified"
	}
	return "file not found in build context or excluded by .dockerignore: stat " + e.Path + ": file does not exist"
}

// Sources resolves COPY/ADD sources (globs allowed) to every file and
// directory they name, walking directories, excluded ones left out; a
// source that matches nothing is docker's error: "COPY failed: file not
// found in build context or excluded by .dockerignore: stat x: file does
// not exist" (a *NotFoundError, wrapped). The list is in the sources'
// order, each walk sorted by name.
func (c *Context) Sources(patterns []string) ([]Source, error) {
	var out []Source
	for _, p := range patterns {
		roots, err := c.match(p)
		if err != nil {
			return nil, fmt.Errorf("COPY failed: %w", err)
		}
		n := len(out)
		for _, root := range roots {
			if out, err = c.walk(out, root); err != nil {
				return nil, fmt.Errorf("COPY failed: %w", err)
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("COPY failed: %w", &NotFoundError{Path: p, Glob: hasGlob(p)})
		}
	}
	return out, nil
}

// match is the context paths (relative, symlinks resolved inside the
// context) one source names: itself, or a glob's matches, each element's
// pattern matched as filepath.Match does ("*" never crosses "/").
func (c *Context) match(pattern string) ([]string, error) {
	clean := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(pattern)), "/")
	if !hasGlob(clean) {
		rel, err := c.resolve(clean)
		if err != nil {
			return nil, err
		}
		if _, err := c.lstat(rel); err != nil {
			return nil, nil // not found: the caller's error
		}
		return []string{rel}, nil
	}
	found := []string{""}
	for _, elem := range strings.Split(clean, "/") {
		var next []string
		for _, dir := range found {
			m, err := c.matchIn(dir, elem)
			if err != nil {
				return nil, err
			}
			next = append(next, m...)
		}
		found = next
	}
	var out []string
	for _, f := range found {
		rel, err := c.resolve(f)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// matchIn is dir's children (dir resolved inside the context) that
// elem names, a glob or a plain name.
func (c *Context) matchIn(dir, elem string) ([]string, error) {
	dir, err := c.resolve(dir)
	if err != nil {
		return nil, err
	}
	if !hasGlob(elem) {
		return []string{join(dir, elem)}, nil
	}
	names, err := c.readDir(dir)
	if err != nil {
		return nil, nil // not a directory, or gone: no match
	}
	var out []string
	for _, name := range names {
		ok, err := path.Match(elem, name)
		if err != nil {
			return nil, fmt.Errorf("bad source pattern %q: %w", elem, err)
		}
		if ok {
			out = append(out, join(dir, name))
		}
	}
	return out, nil
}

// resolve expands rel's symlinks inside the context, so a named source
// that is (or goes through) a link never leaves it.
func (c *Context) resolve(rel string) (string, error) {
	if rel == "" {
		return "", nil
	}
	p, err := rootfs.SecureJoin(c.Dir, rel)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(p, "/"), nil
}

// walk appends root and, for a directory, everything below it that the
// ignore rules keep, sorted by name. An excluded directory is entered
// only when an exception may re-include something below it.
func (c *Context) walk(out []Source, root string) ([]Source, error) {
	info, err := c.lstat(root)
	if err != nil {
		return out, nil
	}
	excluded, mi, err := c.excluded(root, patternmatcher.MatchInfo{})
	if err != nil {
		return nil, err
	}
	if !excluded {
		out = append(out, Source{Rel: root, Info: info, Root: root})
	}
	if !info.IsDir() || (excluded && !c.mayReinclude(root)) {
		return out, nil
	}
	return c.walkDir(out, root, root, mi)
}

// walkDir appends what is below dir. Entries are listed and stat'ed
// through dir's own descriptor (opened inside the context), never by a
// host path a concurrent rename could redirect.
func (c *Context) walkDir(out []Source, root, dir string, parent patternmatcher.MatchInfo) ([]Source, error) {
	d, err := c.openIn(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sort.Strings(names)
	for _, name := range names {
		rel := join(dir, name)
		excluded, mi, err := c.excluded(rel, parent)
		if err != nil {
			return nil, err
		}
		info, err := lstatAt(int(d.Fd()), name)
		if err != nil {
			return nil, fmt.Errorf("lstat %s: %w", rel, err)
		}
		if !excluded {
			out = append(out, Source{Rel: rel, Info: info, Root: root})
		}
		if info.IsDir() && (!excluded || c.mayReinclude(rel)) {
			if out, err = c.walkDir(out, root, rel, mi); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// excluded applies .dockerignore to rel, carrying the parent's results.
func (c *Context) excluded(rel string, parent patternmatcher.MatchInfo) (bool, patternmatcher.MatchInfo, error) {
	if c.ignore == nil || rel == "" {
		return false, patternmatcher.MatchInfo{}, nil
	}
	ex, mi, err := c.ignore.MatchesUsingParentResults(rel, parent)
	if err != nil {
		return false, mi, fmt.Errorf("error checking context: %w", err)
	}
	return ex, mi, nil
}

// mayReinclude reports whether a `!` exception could match something
// below the excluded directory dir: its elements, compared one by one,
// do not rule dir out ("**" may stand for any depth).
func (c *Context) mayReinclude(dir string) bool {
	if !c.ignore.Exclusions() {
		return false
	}
	dirElems := strings.Split(dir, "/")
	for _, p := range c.ignore.Patterns() {
		if p.Exclusion() && patternMayMatchBelow(strings.Split(filepath.ToSlash(p.String()), "/"), dirElems) {
			return true
		}
	}
	return false
}

func patternMayMatchBelow(pattern, dir []string) bool {
	for i, d := range dir {
		if i >= len(pattern) {
			return false
		}
		if pattern[i] == "**" {
			return true
		}
		if ok, _ := path.Match(pattern[i], d); !ok {
			return false
		}
	}
	return true
}

// lstat is Lstat of rel below the context. Its parents were reached
// without following a symlink, or resolved inside the context.
func (c *Context) lstat(rel string) (fs.FileInfo, error) {
	return os.Lstat(c.hostPath(rel))
}

// hostPath is rel's path on the host, for calls that do not follow its
// last element (Lstat, Readlink) and whose parents are the context's own.
func (c *Context) hostPath(rel string) string {
	return filepath.Join(c.Dir, filepath.FromSlash(rel))
}

// readDir lists dir (relative) opened inside the context, sorted.
func (c *Context) readDir(dir string) ([]string, error) {
	f, err := c.openIn(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sort.Strings(names)
	return names, nil
}

// Open opens rel for reading inside the context: every symlink on the
// way, and rel itself if one, resolves inside it (RESOLVE_IN_ROOT), never
// through a link out.
func (c *Context) Open(rel string) (*os.File, error) {
	return c.openIn(rel, unix.O_RDONLY)
}

func (c *Context) openIn(rel string, flags int) (*os.File, error) {
	fd, err := rootfs.InRoot(c.rootfd, rel, flags)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), c.hostPath(rel)), nil
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[") }

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
