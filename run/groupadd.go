package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// addGroups gives u --group-add's groups too, resolved against the
// container's /etc/group (after pivot_root, so the image's) as docker
// does: a name must be in the file, a number need not be.
func addGroups(u execUser, names []string) (execUser, error) {
	if len(names) == 0 {
		return u, nil
	}
	f, err := os.Open("/etc/group")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return u, fmt.Errorf("resolve --group-add: %w", err)
	}
	var r io.Reader
	if f != nil {
		defer f.Close()
		r = f
	}
	return withGroups(u, names, parseGroup(r))
}

func withGroups(u execUser, names []string, groups []groupEntry) (execUser, error) {
	out := slices.Clone(u.Groups)
	for _, name := range names {
		gid, err := groupID(name, groups)
		if err != nil {
			return u, err
		}
		if !slices.Contains(out, gid) {
			out = append(out, gid)
		}
	}
	u.Groups = out
	return u, nil
}

// groupID is name's gid in groups, or name itself when it is a number.
func groupID(name string, groups []groupEntry) (uint32, error) {
	id, idErr := parseID(name)
	for _, g := range groups {
		if g.name == name || (idErr == nil && g.gid == id) {
			return g.gid, nil
		}
	}
	if idErr == nil {
		return id, nil
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", name)
}
