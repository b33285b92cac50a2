package cgroup

// What a rootless skiff may do with cgroups, as podman does (issue 20).
//
// Root makes /skiff/<id> at the root of every hierarchy. An unprivileged
// user may only write where the host delegated a subtree to it: on cgroup
// v2, systemd's user@UID.service (Delegate=yes) chowns its cgroup directory
// and that directory's cgroup.procs and cgroup.subtree_control to the user,
// and everything the user's systemd makes below is the user's too. There a
// container's cgroup is <delegated subtree>/skiff/<id>, made by root's own
// code with the subtree standing for the hierarchy's root. The subtree's
// subtree_control is the user's to extend; the hierarchy's root, and every
// directory above the subtree, is never written.
//
// On cgroup v1, or a hybrid host whose controllers are all on v1
// hierarchies, nothing is delegated: a limit flag gets one warning
// (IgnoredLimits) and the container runs without limits, podman's
// behaviour.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Delegation is what a rootless user may do with cgroups on this host:
// where its containers' cgroups go, or why nowhere.
type Delegation struct {
	// V1 is set when the controllers are on cgroup v1 hierarchies (a v1 or
	// hybrid host): nothing is delegated there.
	V1 bool
	// Mount is the cgroup2 hierarchy's mount point ("" when none).
	Mount string
	// Own is the caller's cgroup, the path of /proc/self/cgroup's 0:: line.
	Own string
	// Subtree is the delegated directory containers go under, the highest
	// ancestor of Own that is the user's with every directory between ("":
	// nothing is delegated, Reason says why).
	Subtree string
	// Controllers are those available in Subtree (its cgroup.controllers).
	Controllers []string
	// Enableable are the controllers Subtree's children, and so the
	// containers, can have: all of Controllers when Subtree holds no
	// process itself, else only those its subtree_control already has (the
	// kernel's no-internal-process rule refuses enabling more).
	Enableable []string
	// Reason says why nothing is delegated ("" when Subtree is set).
	Reason string
}

// Delegated is the delegation of the calling user (its effective uid) on
// this host. It only reads.
func Delegated() Delegation {
	hs, err := Hierarchies()
	if err != nil {
		return Delegation{Reason: err.Error()}
	}
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return Delegation{Reason: fmt.Sprintf("cgroup: %v", err)}
	}
	return DelegatedAt(hs, string(self), os.Geteuid())
}

// DelegatedAt is Delegated over explicit hierarchies, the contents of
// /proc/self/cgroup and a uid (tests use fake trees).
func DelegatedAt(hs []Hierarchy, procSelfCgroup string, uid int) Delegation {
	mount, hybrid := unifiedMount(hs)
	switch {
	case mount == "":
		return Delegation{V1: true, Reason: "cgroups v1: no cgroup2 hierarchy is mounted"}
	case hybrid:
		return Delegation{V1: true, Mount: mount, Reason: "a hybrid cgroup host: the controllers are on cgroup v1 hierarchies"}
	}
	d := Delegation{Mount: mount}
	own, ok := ownCgroup(procSelfCgroup)
	if !ok {
		d.Reason = "no cgroup2 (0::) line in /proc/self/cgroup"
		return d
	}
	d.Own = own
	if own == "/" || slices.Contains(strings.Split(own, "/"), "..") {
		// The root is the host's (root's rule); "/../x" is a cgroup outside
		// this cgroup namespace's view.
		d.Reason = fmt.Sprintf("the caller's cgroup %s is the hierarchy's root or outside it", own)
		return d
	}
	own = filepath.Clean(own)
	sub, err := delegatedSubtree(mount, filepath.Join(mount, own), uid)
	if err != nil {
		d.Reason = fmt.Sprintf("the caller's cgroup %s is not delegated to uid %d: %v", own, uid, err)
		return d
	}
	d.Subtree = sub
	d.Controllers = readFields(filepath.Join(sub, "cgroup.controllers"))
	d.Enableable = enableable(sub, d.Controllers)
	return d
}

// unifiedMount is the cgroup2 hierarchy's mount among hs, and whether v1
// hierarchies are mounted beside it (a hybrid host).
func unifiedMount(hs []Hierarchy) (mount string, hybrid bool) {
	for _, h := range hs {
		if !h.V2 {
			hybrid = true
		} else if mount == "" {
			mount = h.Mount
		}
	}
	return mount, hybrid && mount != ""
}

// ownCgroup reads the cgroup2 path of /proc/self/cgroup ("0::/a/b"), as
// written: cleaning would turn "/../x" (outside the caller's cgroup
// namespace) into "/x".
func ownCgroup(procSelfCgroup string) (string, bool) {
	for _, line := range strings.Split(procSelfCgroup, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(p, "/") {
			return p, true
		}
	}
	return "", false
}

// delegatedSubtree climbs from own, which must be the user's, to the
// highest ancestor that is the user's with every directory between, never
// to the hierarchy's root. Why the highest and not own itself: the caller's
// cgroup holds processes (no controller can be enabled for a child of it)
// and goes away with its session, while the delegation's top (systemd's
// user@UID.service) holds none and outlives them.
func delegatedSubtree(mount, own string, uid int) (string, error) {
	if err := userManages(own, uid); err != nil {
		return "", err
	}
	sub := own
	for parent := filepath.Dir(sub); len(parent) > len(mount) && userManages(parent, uid) == nil; parent = filepath.Dir(sub) {
		sub = parent
	}
	return sub, nil
}

// delegatedFiles are what a user must own to manage a cgroup as its own:
// the directory (to make children) and the two files systemd chowns with
// it, cgroup.procs (to move processes) and cgroup.subtree_control (to give
// children controllers).
var delegatedFiles = []string{".", "cgroup.procs", "cgroup.subtree_control"}

// userManages reports, by ownership and the owner's write bit, whether uid
// may manage the cgroup dir. Ownership rather than access(2): it is what
// delegation is, and it reads the same when a test runs as root.
func userManages(dir string, uid int) error {
	for _, name := range delegatedFiles {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: no owner", fi.Name())
		}
		switch {
		case int(st.Uid) != uid:
			return fmt.Errorf("%s is owned by uid %d", filepath.Join(dir, name), st.Uid)
		case fi.Mode().Perm()&0o200 == 0:
			return fmt.Errorf("%s is not writable by its owner", filepath.Join(dir, name))
		}
	}
	return nil
}

// enableable are the controllers sub's children can have.
func enableable(sub string, controllers []string) []string {
	if pids, err := readProcs(sub); err == nil && len(pids) == 0 {
		return controllers
	}
	var out []string
	for _, c := range readFields(filepath.Join(sub, "cgroup.subtree_control")) {
		if slices.Contains(controllers, c) {
			out = append(out, c)
		}
	}
	return out
}

// readFields is a cgroupfs list file's words (nil when unreadable).
func readFields(p string) []string {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	return strings.Fields(string(b))
}

// New makes container id's cgroup, <Subtree>/skiff/<id>, with every
// controller the delegation can give it, by root's code: the subtree stands
// for the hierarchy's root. The controllers the subtree's children can have
// are first enabled in the subtree's own subtree_control (the user's, unlike
// the hierarchy root's). Processes are moved in with Add (or born there
// with JoinThread), the cgroup removed with Delete.
func (d Delegation) New(id string) (*Cgroup, error) {
	h, err := d.hierarchy()
	if err != nil {
		return nil, err
	}
	if missing := without(d.Enableable, readFields(filepath.Join(d.Subtree, "cgroup.subtree_control"))); len(missing) > 0 {
		enable(d.Subtree, missing)
	}
	return newAt([]Hierarchy{h}, "", id)
}

// Load names container id's existing cgroup under the delegated subtree,
// for removing it later; it creates nothing.
func (d Delegation) Load(id string) (*Cgroup, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	h, err := d.hierarchy()
	if err != nil {
		return nil, err
	}
	return loadAt([]Hierarchy{h}, "", id), nil
}

// hierarchy is the delegated subtree as the one v2 hierarchy a rootless
// container's cgroup lives in. It refuses no delegation, and a subtree that
// is not strictly below the mount: the hierarchy's root is the host's.
func (d Delegation) hierarchy() (Hierarchy, error) {
	if d.Subtree == "" {
		return Hierarchy{}, errors.New("cgroup: no cgroup is delegated to this user: " + d.Reason)
	}
	rel, err := filepath.Rel(d.Mount, d.Subtree)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return Hierarchy{}, fmt.Errorf("cgroup: delegated subtree %s is not below the hierarchy's root %s", d.Subtree, d.Mount)
	}
	return Hierarchy{Mount: d.Subtree, V2: true, HostMount: d.Mount}, nil
}

// without is a minus b, in a's order.
func without(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// Recorded is the delegation a container's record names (its Mount and
// Subtree, kept from the create), with the subtree's controllers read
// again now, as New needs them; nil when the record names none (root's
// containers, a rootless one without a cgroup). It checks no ownership:
// the kernel refuses what the caller may not write.
func Recorded(mount, subtree string) *Delegation {
	if subtree == "" {
		return nil
	}
	d := &Delegation{Mount: mount, Subtree: subtree}
	d.Controllers = readFields(filepath.Join(subtree, "cgroup.controllers"))
	d.Enableable = enableable(subtree, d.Controllers)
	return d
}

// Admits refuses, in one line saying what to do, a caller (its
// /proc/self/cgroup) outside the delegated subtree: the kernel lets a
// process be born in (or moved to) a cgroup only by one that may write the
// procs file of both cgroups' common ancestor, which above the subtree is
// root's. A shell of a login session (its scope root's) is such a caller.
func (d Delegation) Admits(procSelfCgroup string) error {
	own, ok := ownCgroup(procSelfCgroup)
	rel, err := filepath.Rel(d.Mount, d.Subtree)
	sub := "/" + rel
	if err != nil || strings.HasPrefix(rel, "..") {
		sub = d.Subtree
	}
	if ok && !slices.Contains(strings.Split(own, "/"), "..") && (own == sub || strings.HasPrefix(own, sub+"/")) {
		return nil
	}
	return fmt.Errorf("cgroup: the container's cgroup is in %s, delegated to this user, and skiff runs outside it (in %s): run skiff from that delegation, e.g. through systemd-run --user --scope", sub, own)
}
