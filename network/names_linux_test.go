package network

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	memberD = "dddd000000000000000000000000000000000000000000000000000000000000"
	memberE = "eeee000000000000000000000000000000000000000000000000000000000000"
	memberF = "ffff000000000000000000000000000000000000000000000000000000000000"
)

func mustJoin(t testing.TB, s *UserNetworks, n *UserNetwork, m Member) Member {
	t.Helper()
	got, err := s.Join(n.ID, m)
	if err != nil {
		t.Fatalf("join %s to %s: %v", m.Name, n.Name, err)
	}
	return got
}

// namesFixture: memberA ("me") on Front (eth0) and back (eth1); on Front
// web and web2 share the alias api; on back db has the alias web, which
// Front's web hides; lonely is on a network memberA is not on.
type namesFixture struct {
	s                  *UserNetworks
	front, back, other *UserNetwork
	me, web, web2, db  Member
	meBack, lonely     Member
}

func newNamesFixture(t *testing.T) namesFixture {
	t.Helper()
	s := testUserNetworks(t)
	f := namesFixture{s: s}
	f.front = mustCreate(t, s, CreateOptions{Name: "Front", Subnet: "10.1.0.0/24"})
	f.back = mustCreate(t, s, CreateOptions{Name: "back", Subnet: "10.2.0.0/24"})
	f.other = mustCreate(t, s, CreateOptions{Name: "other", Subnet: "10.3.0.0/24"})
	f.me = mustJoin(t, s, f.front, Member{ContainerID: memberA, Name: "me", Interface: "eth0"})
	f.web = mustJoin(t, s, f.front, Member{ContainerID: memberB, Name: "Web", Aliases: []string{"api"}})
	f.web2 = mustJoin(t, s, f.front, Member{ContainerID: memberC, Name: "web2", Aliases: []string{"api"}})
	f.meBack = mustJoin(t, s, f.back, Member{ContainerID: memberA, Name: "me", Interface: "eth1"})
	f.db = mustJoin(t, s, f.back, Member{ContainerID: memberD, Name: "db", Aliases: []string{"web"}})
	f.lonely = mustJoin(t, s, f.other, Member{ContainerID: memberE, Name: "lonely"})
	return f
}

func lookupString(n *Names, name string) string {
	v4, v6, ok := n.Lookup(name)
	if !ok {
		return "unknown"
	}
	var out []string
	all := slices.Concat(v4, v6)
	slices.SortFunc(all, netip.Addr.Compare) // in no particular order: the server rotates them
	for _, a := range all {
		out = append(out, a.String())
	}
	return strings.Join(out, " ")
}

func TestNamesLookup(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, []NameLink{{Alias: "Store", ContainerID: memberD}, {Alias: "nowhere", ContainerID: memberE}})
	for _, tc := range []struct{ name, want string }{
		{"me", "10.1.0.2"},                 // its own name, on its first network
		{"web", "10.1.0.3"},                // Front's web (names are lowercase), not back's alias
		{"api", "10.1.0.3 10.1.0.4"},       // a shared alias: every member
		{"web2", "10.1.0.4"},               // a name
		{memberB[:12], "10.1.0.3"},         // the short id
		{memberB, "unknown"},               // not the full id (docker's neither)
		{"db", "10.2.0.3"},                 // on its second network
		{"web.back", "10.2.0.3"},           // NAME.NETWORK: back's web
		{"web.front", "10.1.0.3"},          // a network's name without regard to case
		{"me.back", "10.2.0.2"},            // itself on back
		{"store", "10.2.0.3"},              // a link's alias: the target on a network both are on
		{"store.back", "10.2.0.3"},         //
		{"nowhere", "unknown"},             // a link to a container on no network of its own
		{"lonely", "unknown"},              // on a network the container is not on
		{"lonely.other", "unknown"},        //
		{"WEB", "10.1.0.3"},                // asked in capitals
		{"example.com", "unknown"},         // forwarded
		{"", "unknown"},                    //
		{"web.front.extra", "unknown"},     //
		{"api.front", "10.1.0.3 10.1.0.4"}, //
	} {
		if got := lookupString(names, tc.name); got != tc.want {
			t.Errorf("Lookup(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
	// Another container on the same networks sees them from its side.
	if got := lookupString(f.s.NamesFor(memberD, nil), "web"); got != "10.2.0.3" {
		t.Errorf("db's Lookup(web) = %s, want its own alias on back, 10.2.0.3", got)
	}
	if got := lookupString(f.s.NamesFor(memberD, nil), "store"); got != "unknown" {
		t.Errorf("db's Lookup(store) = %s: a link answers only the container that has it", got)
	}
}

// Joins and leaves between two lookups are seen by the second, however
// soon it follows (the directories' coarse mtimes notwithstanding).
func TestNamesSeeChangesAtOnce(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, nil)
	steps := []struct {
		what   string
		change func() error
		name   string
		want   string
	}{
		{"a member joins", func() error {
			_, err := f.s.Join(f.front.ID, Member{ContainerID: memberF, Name: "late", Aliases: []string{"api"}})
			return err
		}, "late", "10.1.0.5"},
		{"it shares an alias", nil, "api", "10.1.0.3 10.1.0.4 10.1.0.5"},
		{"a member leaves", func() error { return f.s.Leave(f.front.ID, memberC) }, "api", "10.1.0.3 10.1.0.5"},
		{"its name goes", nil, "web2", "unknown"},
		{"the container leaves a network", func() error { return f.s.Leave(f.back.ID, memberA) }, "db", "unknown"},
		{"and joins another", func() error {
			_, err := f.s.Join(f.other.ID, Member{ContainerID: memberA, Name: "me", Interface: "eth1"})
			return err
		}, "lonely", "10.3.0.2"},
		{"a network appears and the container joins it", func() error {
			n, err := f.s.Create(CreateOptions{Name: "fresh", Subnet: "10.4.0.0/24"})
			if err == nil {
				_, err = f.s.Join(n.ID, Member{ContainerID: memberA, Name: "me", Interface: "eth2"})
			}
			return err
		}, "me.fresh", "10.4.0.2"},
		{"the container leaves its first network", func() error { return f.s.Leave(f.front.ID, memberA) }, "web", "unknown"},
	}
	for _, st := range steps {
		if st.change != nil {
			lookupString(names, st.name) // a table read just before the change
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.what, err)
			}
		}
		if got := lookupString(names, st.name); got != st.want {
			t.Errorf("%s: Lookup(%q) = %s, want %s", st.what, st.name, got, st.want)
		}
	}
}

// The table is read again only when the records change: lookups in a
// row share one reading.
func TestNamesReadOnlyOnChange(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, nil)
	var first *nameTable
	for i := 0; ; i++ {
		names.Lookup("web")
		t0 := names.table
		if !slices.ContainsFunc(t0.dirs, func(d dirStamp) bool { return d.racy }) {
			first = t0
			break
		}
		if i > 1000 {
			t.Fatal("the directories stay racy")
		}
	}
	for range 100 {
		names.Lookup("web")
	}
	if names.table != first {
		t.Error("the table was read again with nothing changed")
	}
	mustJoin(t, f.s, f.front, Member{ContainerID: memberF, Name: "late"})
	names.Lookup("web")
	if names.table == first {
		t.Error("a join did not make the table be read again")
	}
}

// Lookups from many goroutines while members come and go (for the race
// detector): each sees whole tables.
func TestNamesConcurrent(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if got := lookupString(names, "web"); got != "10.1.0.3" {
					t.Errorf("Lookup(web) = %s during churn", got)
					return
				}
			}
		}()
	}
	for i := range 50 {
		mustJoin(t, f.s, f.front, Member{ContainerID: memberF, Name: fmt.Sprintf("churn%d", i)})
		if err := f.s.Leave(f.front.ID, memberF); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

// BenchmarkNamesLookup is the responder's cost per query for a member's
// name with nothing changed: one stat per directory, no reading.
func BenchmarkNamesLookup(b *testing.B) {
	dir := b.TempDir()
	s := NewUserNetworks(dir+"/root", Config{RunDir: RunDir(dir + "/run")})
	s.skiff0 = func() netip.Prefix { return netip.Prefix{} }
	s.routes = func() ([]netip.Prefix, error) { return nil, nil }
	for i, name := range []string{"one", "two"} {
		n, err := s.Create(CreateOptions{Name: name, Subnet: fmt.Sprintf("10.%d.0.0/24", 10+i)})
		if err != nil {
			b.Fatal(err)
		}
		for j := range 10 {
			id := fmt.Sprintf("%04x%060d", j, i)
			if j == 0 {
				id = memberA
			}
			if _, err := s.Join(n.ID, Member{ContainerID: id, Name: fmt.Sprintf("c%d", j), Aliases: []string{"svc"}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	names := s.NamesFor(memberA, nil)
	if _, _, ok := names.Lookup("c5"); !ok {
		b.Fatal("c5 unknown")
	}
	for names.table.stale() { // let the racy window pass
		names.Lookup("c5")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		names.Lookup("c5")
	}
}

// Names keeps one descriptor per directory it watches, closes those of a
// removed network at the next reading, and all of them at Close.
func TestNamesDescriptors(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, nil)
	before := openFDCount(t)
	names.Lookup("web")
	if got := openFDCount(t) - before; got != 4 { // the networks' directory, three members directories
		t.Errorf("%d descriptors after a lookup, want 4", got)
	}
	if err := f.s.Leave(f.other.ID, memberE); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Remove(f.other.ID); err != nil {
		t.Fatal(err)
	}
	names.Lookup("web")
	if got := openFDCount(t) - before; got != 3 {
		t.Errorf("%d descriptors after a network's removal, want 3", got)
	}
	names.Close()
	if got := openFDCount(t) - before; got != 0 {
		t.Errorf("%d descriptors after Close, want none", got)
	}
	if got := lookupString(names, "web"); got != "unknown" {
		t.Errorf("Lookup after Close: %s", got)
	}
	if got := openFDCount(t) - before; got != 0 {
		t.Errorf("%d descriptors after a Lookup after Close, want none", got)
	}
}

func openFDCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// A change in the same tick of the kernel's coarse clock as the reading
// before it leaves the directory's mtime as that reading saw it: the
// racy rule reads a recently changed directory again anyway. (Kernels
// with multigrain timestamps stamp such a change finely; this test makes
// the mtime equal by hand.)
func TestNamesRacyMtime(t *testing.T) {
	f := newNamesFixture(t)
	names := f.s.NamesFor(memberA, nil)
	dir := filepath.Join(f.s.netRunDir(f.front.ID), membersDir)
	// A reading right after a change: racy (retried if the machine was
	// too slow to read within the window).
	for i := 0; ; i++ {
		now := time.Now()
		if err := os.Chtimes(dir, now, now); err != nil {
			t.Fatal(err)
		}
		names.Lookup("web")
		if slices.ContainsFunc(names.table.dirs, func(d dirStamp) bool { return d.path == dir && d.racy }) {
			break
		}
		if i == 50 {
			t.Skip("never read within the racy window")
		}
	}
	before, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustJoin(t, f.s, f.front, Member{ContainerID: memberF, Name: "late"})
	if err := os.Chtimes(dir, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := lookupString(names, "late"); got != "10.1.0.5" {
		t.Errorf("a join within the mtime's tick: Lookup(late) = %s, want 10.1.0.5", got)
	}
}
