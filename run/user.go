package run

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// execUser is a resolved -u: the ids the process runs as and its HOME.
type execUser struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
	Home     string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// maxID is the largest id docker and runc accept (ids are int32 in places).
const maxID = 1<<31 - 1

// parsePasswd reads /etc/passwd lines (name:pw:uid:gid:gecos:home:shell),
// skipping comments and malformed lines as libc does.
func parsePasswd(r io.Reader) []passwdEntry {
	var out []passwdEntry
	eachLine(r, func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, err1 := parseID(f[2])
		gid, err2 := parseID(f[3])
		if err1 != nil || err2 != nil {
			return
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if len(f) > 5 {
			e.home = f[5]
		}
		out = append(out, e)
	})
	return out
}

// parseGroup reads /etc/group lines (name:pw:gid:member,member).
func parseGroup(r io.Reader) []groupEntry {
	var out []groupEntry
	eachLine(r, func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, err := parseID(f[2])
		if err != nil {
			return
		}
		e := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			e.members = strings.Split(f[3], ",")
		}
		out = append(out, e)
	})
	return out
}

func eachLine(r io.Reader, fn func([]string)) {
	if r == nil {
		return
	}
	s := bufio.NewScanner(r)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fn(strings.Split(line, ":"))
	}
}

func parseID(s string) (uint32, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil || n > maxID {
		return 0, fmt.Errorf("%q is not a valid id", s)
	}
	return uint32(n), nil
}

// resolveUser turns docker's -u ("", "name", "uid", "uid:gid", "name:group",
// ...) into ids against the container's passwd and group files (either may
// be nil when the image has none), as runc's user package does: numeric ids
// need no entry, names do; supplementary groups beyond the primary one come
// from the group file only when no group was given.
func resolveUser(spec string, passwd, group io.Reader) (execUser, error) {
	u, err := resolveIDs(spec, passwd, group)
	if err != nil {
		return u, err
	}
	// The primary group is always a supplementary one too, as docker does
	// since CVE-2022-36109: otherwise a process could drop it with
	// setgroups and escape a file's "group may not" permission bits.
	groups := []uint32{u.GID}
	for _, g := range u.Groups {
		if g != u.GID {
			groups = append(groups, g)
		}
	}
	u.Groups = groups
	return u, nil
}

func resolveIDs(spec string, passwd, group io.Reader) (execUser, error) {
	u := execUser{Home: "/"}
	userArg, groupArg, _ := strings.Cut(spec, ":")
	if userArg == "" {
		userArg = "0"
	}
	users := parsePasswd(passwd)
	uid, uidErr := parseID(userArg)
	var matched *passwdEntry
	for i := range users {
		if users[i].name == userArg || (uidErr == nil && users[i].uid == uid) {
			matched = &users[i]
			break
		}
	}
	switch {
	case matched != nil:
		u.UID, u.GID = matched.uid, matched.gid
		if matched.home != "" {
			u.Home = matched.home
		}
	case uidErr == nil:
		u.UID = uid
	default:
		return u, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userArg)
	}

	if groupArg == "" && matched == nil {
		return u, nil
	}
	groups := parseGroup(group)
	if groupArg != "" {
		gid, gidErr := parseID(groupArg)
		for _, g := range groups {
			if g.name == groupArg || (gidErr == nil && g.gid == gid) {
				u.GID = g.gid
				return u, nil
			}
		}
		if gidErr != nil {
			return u, fmt.Errorf("unable to find group %s: no matching entries in group file", groupArg)
		}
		u.GID = gid
		return u, nil
	}
	for _, g := range groups {
		for _, m := range g.members {
			if m == matched.name {
				u.Groups = append(u.Groups, g.gid)
				break
			}
		}
	}
	return u, nil
}

// withHome adds HOME to env unless the image or -e already set it.
func withHome(env []string, home string) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	return append(env[:len(env):len(env)], "HOME="+home)
}

// LookupOwner resolves a build's --chown ("user", "uid", "user:group",
// "uid:gid") against an image's passwd and group files (either may be
// nil): a user alone gives its uid as the group too, as docker's COPY and
// ADD do.
func LookupOwner(spec string, passwd, group io.Reader) (uid, gid uint32, err error) {
	u, err := resolveIDs(spec, passwd, group)
	if err != nil {
		return 0, 0, err
	}
	if _, g, hasGroup := strings.Cut(spec, ":"); !hasGroup || g == "" {
		return u.UID, u.UID, nil
	}
	return u.UID, u.GID, nil
}

// LookupUser resolves a container's user (-u, else the image's USER: "",
// "name", "uid", "uid:gid", "name:group") against its passwd and group
// files (either may be nil) into the ids its process runs as, as the init
// resolves them: for what must belong to that process before it starts
// (-v's U option).
func LookupUser(spec string, passwd, group io.Reader) (uid, gid uint32, err error) {
	u, err := resolveIDs(spec, passwd, group)
	return u.UID, u.GID, err
}
