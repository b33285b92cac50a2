package rootfs

import (
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/userns"
	"golang.org/x/sys/unix"
)

// ChangeKind is docker's letter for a change: A added, C changed, D deleted.
type ChangeKind byte

const (
	Added   ChangeKind = 'A'
	Changed ChangeKind = 'C'
	Deleted ChangeKind = 'D'
)

// Change is one line of docker diff ("C /etc").
type Change struct {
	Kind ChangeKind
	Path string
}

func (c Change) String() string { return string(c.Kind) + " " + c.Path }

// Diff lists what a container changed in its filesystem, as docker diff,
// from its overlay l and the targets the init mounts over (mountPoints).
// It reads the upper dir and the image's layer dirs directly: no mount is
// needed, so it works the same whether the container runs or not.
func Diff(l Layers, mountPoints []string) ([]Change, error) {
	changes, err := Changes(l.Upper, l.Lower, userns.Rootless())
	if err != nil {
		return nil, err
	}
	return hideMountPoints(changes, mountPoints), nil
}

// hideMountPoints drops what the init made only to mount over (the
// /etc/hosts bind target, its /etc, a volume's mount point and the
// directories made to reach it): docker makes those in an init layer below
// the container's, so its diff never shows them. A directory made on the
// way to a mount point that holds other changes stays. What lies under a
// mount point is dropped too: the container never saw it there, the
// mount hid it, and a volume's contents are no change of its filesystem.
func hideMountPoints(changes []Change, dests []string) []Change {
	made := map[string]bool{}
	var points []string
	for _, d := range dests {
		p := path.Clean("/" + d)
		if p == "/" {
			continue
		}
		points = append(points, p)
		for ; p != "/"; p = path.Dir(p) {
			made[p] = true
		}
	}
	under := func(c Change) bool {
		for _, p := range points {
			if strings.HasPrefix(c.Path, p+"/") {
				return true
			}
		}
		return false
	}
	hidden := func(c Change) bool { return under(c) || (c.Kind != Deleted && made[c.Path]) }
	var out []Change
	for i, c := range changes {
		if hidden(c) && !holdsChange(changes[i+1:], c.Path, hidden) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// holdsChange reports whether a change below dir (they follow it, as the
// walk lists a directory before its contents) is one that is shown.
func holdsChange(after []Change, dir string, hidden func(Change) bool) bool {
	for _, c := range after {
		if !strings.HasPrefix(c.Path, dir+"/") {
			return false
		}
		if !hidden(c) {
			return true
		}
	}
	return false
}

// Changes classifies an overlay upper dir against its lower layers (top
// layer first): a whiteout (0/0 char device) is D; an opaque dir is C and
// whatever the layers had in it is D; a path the layers do not show is A,
// one they do is C. Directories come before their contents, siblings by
// name, as docker walks. userxattr selects user.overlay.* (rootless).
func Changes(upper string, lowers []string, userxattr bool) ([]Change, error) {
	d := &differ{upper: upper, lowers: lowers, userxattr: userxattr}
	if err := d.walk(""); err != nil {
		return nil, err
	}
	return d.out, nil
}

type differ struct {
	upper     string
	lowers    []string
	userxattr bool // user.overlay.* marks opaque dirs (rootless)
	out       []Change
}

// walk lists dir (upper-relative, "" for the root) in name order and
// classifies each entry, descending into directories.
func (d *differ) walk(dir string) error {
	ents, err := os.ReadDir(filepath.Join(d.upper, dir))
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	opaque := dir != "" && d.isOpaque(filepath.Join(d.upper, dir))
	var hidden []string
	if opaque {
		// Everything the layers showed here and the upper does not
		// replace is gone.
		for _, n := range d.lowerNames(dir) {
			if !names[n] {
				hidden = append(hidden, n)
			}
		}
	}
	all := append([]string{}, hidden...)
	for n := range names {
		all = append(all, n)
	}
	sort.Strings(all)
	for _, n := range all {
		rel := path.Join(dir, n)
		if !names[n] {
			d.add(Deleted, rel)
			continue
		}
		if err := d.entry(rel); err != nil {
			return err
		}
	}
	return nil
}

func (d *differ) entry(rel string) error {
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(d.upper, rel), &st); err != nil {
		return err
	}
	if archive.IsWhiteout(&st) {
		d.add(Deleted, rel)
		return nil
	}
	kind := Added
	if existsBelow(d.lowers, rel, d.userxattr) {
		kind = Changed
	}
	d.add(kind, rel)
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return d.walk(rel)
	}
	return nil
}

func (d *differ) add(k ChangeKind, rel string) {
	d.out = append(d.out, Change{Kind: k, Path: "/" + rel})
}

func (d *differ) isOpaque(p string) bool { return archive.IsOpaque(p, d.userxattr) }

// lowerNames are the entries the layers show in dir, merged as overlay
// would: whiteouts and what opaque dirs hide are left out.
func (d *differ) lowerNames(dir string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range d.lowers {
		ents, err := os.ReadDir(filepath.Join(l, dir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if !seen[n] && existsBelow(d.lowers, path.Join(dir, n), d.userxattr) {
				out = append(out, n)
			}
			seen[n] = true
		}
	}
	return out
}

// existsBelow reports whether the merged lower layers (top first) show
// rel: the topmost layer that says anything about it decides, and a
// whiteout, an opaque parent or a non-directory parent there hides what
// the layers beneath have.
func existsBelow(lowers []string, rel string, userxattr bool) bool {
	parts := splitRel(rel)
	for _, l := range lowers {
		hiddenBelow := false
		for i := range parts {
			p := filepath.Join(l, filepath.Join(parts[:i+1]...))
			var st unix.Stat_t
			if err := unix.Lstat(p, &st); err != nil {
				break
			}
			if archive.IsWhiteoutPath(p, &st, userxattr) {
				return false
			}
			if i == len(parts)-1 {
				return true
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return false
			}
			if archive.IsOpaque(p, userxattr) {
				hiddenBelow = true
			}
		}
		if hiddenBelow {
			return false
		}
	}
	return false
}

func splitRel(rel string) []string { return strings.Split(strings.Trim(rel, "/"), "/") }
