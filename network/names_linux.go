package network

// A container's DNS names (issue 19): what its DNS responder answers from
// the member records of the user networks it is on.
//
// The responder asks on every query, on the goroutine that reads its
// socket, so Lookup reads an in-memory table and re-reads the records only
// when they changed: it stats the directory of networks and each
// network's members directory (a join, a leave, a connect's record all
// arrive by a rename there, which sets the directory's mtime) and compares
// with what it saw when it last read them. A directory changed within
// racyWindow of being read is read again at the next query whatever its
// mtime says (git's "racy clean" rule): the kernel stamps mtimes from a
// coarse clock, so a change in the same tick as the read would leave the
// mtime as it was.

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// racyWindow is how recent a directory's mtime must be, when it is read,
// for the next Lookup to read it again: well above the coarse clock's tick
// (1 to 10 ms).
const racyWindow = 20 * time.Millisecond

// NameLink is a --link on a user network: Alias answers, for the linking
// container only, with the linked container's address on a network both
// are on.
type NameLink struct {
	Alias       string
	ContainerID string
}

// Names answers the names of container containerID's user networks: every
// member's DNSNames on each network the container is a member of (read
// from the records, re-read when they change: connect, disconnect, a
// container's start and exit), and its links. It implements dns.Resolver.
//
// As docker's sandbox, a name is answered from the first of the
// container's networks that has it, in the order the container joined
// them (its own member's interface, eth0 first); an alias several members
// of that network share answers all of them. NAME.NETWORK answers NAME on
// that network only; a link's alias comes before a member's name.
type Names struct {
	s           *UserNetworks
	containerID string
	links       []NameLink

	// mu: queries check the table's directories under the read lock; a
	// reading of the records (the write lock) replaces the table and
	// closes the descriptors of directories gone.
	mu       sync.RWMutex
	table    *nameTable
	dirFDs   map[string]int    // path -> O_PATH descriptor of each directory the table watches
	netNames map[string]string // network id -> lowercase name (never renamed)
	closed   bool
}

// nameTable is one reading of the records: the names, and the directories
// it was read from as they were then. Never changed once made.
type nameTable struct {
	dirs      []dirStamp
	links     map[string][]netip.Addr // link aliases
	names     map[string][]netip.Addr // members' names, short ids and aliases
	qualified map[string][]netip.Addr // NAME.NETWORK, link aliases' too
}

// dirStamp is a directory as a reading saw it, checked through a
// descriptor (fstat: no path to walk, nothing allocated); racy (or an
// error reading what is in it) makes the next Lookup read again.
type dirStamp struct {
	path  string
	fd    int // -1: it was missing
	ino   uint64
	mtime unix.Timespec
	racy  bool
}

// NamesFor is containerID's Names. Close releases its descriptors.
func (s *UserNetworks) NamesFor(containerID string, links []NameLink) *Names {
	return &Names{s: s, containerID: containerID, links: links, dirFDs: map[string]int{}, netNames: map[string]string{}}
}

// Lookup is dns.Resolver's: the addresses of name (lowercase, no trailing
// dot) on the container's networks; ok if the name is known. The slices
// are the table's: the caller only reads them.
func (n *Names) Lookup(name string) (v4, v6 []netip.Addr, ok bool) {
	t := n.current()
	if t == nil {
		return nil, nil, false
	}
	name = strings.ToLower(name) // no copy when it is lowercase already
	if addrs, ok := t.links[name]; ok {
		return addrs, nil, true
	}
	if addrs, ok := t.names[name]; ok {
		return addrs, nil, true
	}
	addrs, ok := t.qualified[name]
	return addrs, nil, ok
}

// Close releases the directories' descriptors; Lookup knows no name
// after.
func (n *Names) Close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for path, fd := range n.dirFDs {
		unix.Close(fd)
		delete(n.dirFDs, path)
	}
	n.table, n.closed = nil, true
}

// current is the table, read again first if the records changed since.
func (n *Names) current() *nameTable {
	n.mu.RLock()
	t, closed := n.table, n.closed
	fresh := t != nil && !t.stale()
	n.mu.RUnlock()
	if fresh || closed {
		return t
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	// Another query may have read them meanwhile, but perhaps from before
	// the change this one saw: check again, and read if still stale.
	if n.closed || (n.table != nil && !n.table.stale()) {
		return n.table
	}
	n.table = n.load()
	return n.table
}

// stale says a directory the table was read from changed, or was racy.
func (t *nameTable) stale() bool {
	for i := range t.dirs {
		if t.dirs[i].changed() {
			return true
		}
	}
	return false
}

func (d *dirStamp) changed() bool {
	if d.racy {
		return true
	}
	var st unix.Stat_t
	if d.fd < 0 { // missing then: there now?
		return unix.Stat(d.path, &st) == nil
	}
	if err := unix.Fstat(d.fd, &st); err != nil {
		return true
	}
	// Nlink 0: removed (the path may name a new directory now).
	return st.Nlink == 0 || st.Ino != d.ino || st.Mtim != d.mtime
}

// stampDir records how dir is before it is read, through a descriptor
// kept for the next checks (opened again if its directory was removed).
// Called with the write lock held.
func (n *Names) stampDir(dir string) dirStamp {
	d := dirStamp{path: dir, fd: -1}
	var st unix.Stat_t
	if fd, ok := n.dirFDs[dir]; ok {
		if err := unix.Fstat(fd, &st); err == nil && st.Nlink > 0 {
			d.fd = fd
		} else {
			unix.Close(fd)
			delete(n.dirFDs, dir)
		}
	}
	if d.fd < 0 {
		fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			d.racy = !errors.Is(err, unix.ENOENT) // missing is a state; anything else, try again
			return d
		}
		n.dirFDs[dir], d.fd = fd, fd
		if err := unix.Fstat(fd, &st); err != nil {
			d.racy = true
			return d
		}
	}
	d.ino, d.mtime = st.Ino, st.Mtim
	d.racy = time.Since(time.Unix(st.Mtim.Unix())) < racyWindow
	return d
}

// closeUnwatched closes the descriptors of directories t does not watch
// (networks removed). Called with the write lock held.
func (n *Names) closeUnwatched(t *nameTable) {
	watched := make(map[string]bool, len(t.dirs))
	for _, d := range t.dirs {
		watched[d.path] = true
	}
	for path, fd := range n.dirFDs {
		if !watched[path] {
			unix.Close(fd)
			delete(n.dirFDs, path)
		}
	}
}

// networkMembers is one of the container's networks as read.
type networkMembers struct {
	name    string // lowercase, "" if its record is gone
	order   int    // the container's interface number on it
	members []Member
}

// load reads the records: every network's members, kept for the networks
// whose members include the container.
func (n *Names) load() *nameTable {
	t := &nameTable{}
	root := filepath.Join(n.s.RunDir, userRunSubdir)
	t.dirs = append(t.dirs, n.stampDir(root))
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.dirs[0].racy = true
	}
	var mine []networkMembers
	for _, e := range entries {
		if !isNetworkID(e.Name()) {
			continue
		}
		stamp := n.stampDir(filepath.Join(root, e.Name(), membersDir))
		members, err := n.s.members(e.Name())
		if err != nil {
			stamp.racy = true // a record unreadable now: the next query reads again
		}
		t.dirs = append(t.dirs, stamp)
		if own := memberOf(members, n.containerID); own != nil {
			mine = append(mine, networkMembers{name: n.networkName(e.Name()), order: interfaceNumber(own.Interface), members: members})
		}
	}
	slices.SortStableFunc(mine, func(a, b networkMembers) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return strings.Compare(a.name, b.name)
	})
	t.fill(mine, n.links)
	n.closeUnwatched(t)
	return t
}

// fill makes the maps from the container's networks in order.
func (t *nameTable) fill(nets []networkMembers, links []NameLink) {
	t.links, t.names, t.qualified = map[string][]netip.Addr{}, map[string][]netip.Addr{}, map[string][]netip.Addr{}
	for _, nm := range nets {
		seen := map[string]bool{} // names this network answers: first network wins, a shared alias adds up
		for _, m := range nm.members {
			if !m.Addr.IsValid() {
				continue
			}
			for _, name := range m.DNSNames() {
				name = strings.ToLower(name)
				if _, earlier := t.names[name]; !earlier || seen[name] {
					t.names[name] = appendAddr(t.names[name], m.Addr)
					seen[name] = true
				}
				if nm.name != "" {
					t.qualified[name+"."+nm.name] = appendAddr(t.qualified[name+"."+nm.name], m.Addr)
				}
			}
		}
		for _, l := range links {
			target := memberOf(nm.members, l.ContainerID)
			if target == nil || !target.Addr.IsValid() {
				continue
			}
			alias := strings.ToLower(l.Alias)
			if _, earlier := t.links[alias]; !earlier {
				t.links[alias] = []netip.Addr{target.Addr}
			}
			if nm.name != "" {
				t.qualified[alias+"."+nm.name] = []netip.Addr{target.Addr}
			}
		}
	}
}

func appendAddr(addrs []netip.Addr, a netip.Addr) []netip.Addr {
	if slices.Contains(addrs, a) {
		return addrs
	}
	return append(addrs, a)
}

func memberOf(members []Member, containerID string) *Member {
	for i := range members {
		if members[i].ContainerID == containerID {
			return &members[i]
		}
	}
	return nil
}

// interfaceNumber is N of ethN, the order the container joined its
// networks in; a member without one (not attached yet) sorts last.
func interfaceNumber(ifname string) int {
	if v, ok := strings.CutPrefix(ifname, "eth"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return n
		}
	}
	return 1 << 20
}

// networkName is network id's name, lowercase, from its record (read once:
// docker's networks are never renamed); "" when the record is gone.
func (n *Names) networkName(id string) string {
	if name, ok := n.netNames[id]; ok {
		return name
	}
	rec, err := n.s.read(id)
	if err != nil {
		return ""
	}
	name := strings.ToLower(rec.Name)
	n.netNames[id] = name
	return name
}
