package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 11, volumes as a store: `skiff volume create/ls/inspect/rm/prune`,
// the in-use refusal, ps --filter volume=, and anonymous volumes going
// with rm -v and --rm but staying with plain rm.

// i11vstoreStore is a store of its own (volumes are global to a root),
// with busybox pulled when a test runs containers.
func i11vstoreStore(t *testing.T, withImage bool) *store {
	t.Helper()
	requireEnv(t)
	s := newStore(t)
	if withImage {
		s.must(t, "pull", "-q", fx.busybox)
	}
	return s
}

// i11vstoreNames is `volume ls -q` with extra flags, as a sorted list.
func (s *store) i11vstoreNames(t *testing.T, flags ...string) []string {
	t.Helper()
	out := strings.Fields(s.must(t, append([]string{"volume", "ls", "-q"}, flags...)...).stdout)
	slices.Sort(out)
	return out
}

// i11vstoreDirs lists <root>/volumes, skiff's own entries included.
func (s *store) i11vstoreDirs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "volumes"))
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

type i11vstoreDoc struct {
	CreatedAt, Driver, Mountpoint, Name, Scope string
	Labels, Options                            map[string]string
}

func (s *store) i11vstoreInspect(t *testing.T, name string) i11vstoreDoc {
	t.Helper()
	var docs []i11vstoreDoc
	if err := json.Unmarshal([]byte(s.must(t, "volume", "inspect", name).stdout), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("volume inspect %s: %v %v", name, docs, err)
	}
	return docs[0]
}

func TestI11VstoreCreateLsInspectRm(t *testing.T) {
	s := i11vstoreStore(t, false)
	if r := s.must(t, "volume", "create", "data", "--label", "app=db"); r.stdout != "data\n" {
		t.Fatalf("create printed %q, want the name", r.stdout)
	}
	anon := strings.TrimSpace(s.must(t, "volume", "create").stdout)
	if !fullID.MatchString(anon) {
		t.Fatalf("volume create without a name printed %q, want 64 hex", anon)
	}
	s.must(t, "volume", "create", "-d", "local", "-o", "type=none", "-o", "o=bind", "-o", "device=/srv", "named-bind")
	s.must(t, "volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt", "o=size=1m", "scratch")
	// An existing name is returned as it is.
	if r := s.must(t, "volume", "create", "data"); r.stdout != "data\n" {
		t.Errorf("second create printed %q", r.stdout)
	}

	d := s.i11vstoreInspect(t, "data")
	created, err := time.Parse(time.RFC3339, d.CreatedAt)
	if d.Name != "data" || d.Driver != "local" || d.Scope != "local" || d.Labels["app"] != "db" || d.Options == nil || len(d.Options) != 0 || err != nil || time.Since(created) > time.Hour {
		t.Errorf("inspect data: %+v (%v)", d, err)
	}
	if want := filepath.Join(s.root, "volumes", "data", "_data"); d.Mountpoint != want {
		t.Errorf("Mountpoint %s, want docker's layout %s", d.Mountpoint, want)
	}
	if fi, err := os.Stat(d.Mountpoint); err != nil || !fi.IsDir() {
		t.Errorf("the data dir is not there: %v", err)
	}
	if o := s.i11vstoreInspect(t, "named-bind").Options; o["type"] != "none" || o["o"] != "bind" || o["device"] != "/srv" {
		t.Errorf("named bind's options: %v", o)
	}
	if l := s.i11vstoreInspect(t, anon).Labels; len(l) != 1 || l["com.docker.volume.anonymous"] != "" {
		t.Errorf("a nameless volume carries docker's anonymous label: %v", l)
	}
	if r := s.must(t, "volume", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Labels.app}}", "data"); r.stdout != "data local db\n" {
		t.Errorf("inspect -f: %q", r.stdout)
	}
	r := s.skiff(nil, "volume", "inspect", "data", "nosuch")
	if r.code != 1 || !strings.Contains(r.stdout, `"Name": "data"`) || strings.TrimSpace(r.stderr) != "skiff: No such volume: nosuch" {
		t.Errorf("inspect of a missing volume: %v", r)
	}

	all := []string{anon, "data", "named-bind", "scratch"}
	slices.Sort(all)
	if got := s.i11vstoreNames(t); !slices.Equal(got, all) {
		t.Errorf("ls -q = %v, want %v", got, all)
	}
	lines := strings.Split(strings.TrimSpace(s.must(t, "volume", "ls").stdout), "\n")
	if len(lines) != 5 || strings.Join(strings.Fields(lines[0]), " ") != "DRIVER VOLUME NAME" || strings.Join(strings.Fields(lines[1]), " ") != "local "+all[0] {
		t.Errorf("ls table:\n%s", strings.Join(lines, "\n"))
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"label=app=db", []string{"data"}},
		{"label=app=web", nil},
		{"name=^sc", []string{"scratch"}},
		{"dangling=true", all},
		{"dangling=false", nil},
		{"label=com.docker.volume.anonymous", []string{anon}},
	} {
		if got := s.i11vstoreNames(t, "--filter", tc.filter); !slices.Equal(got, tc.want) {
			t.Errorf("ls --filter %s = %v, want %v", tc.filter, got, tc.want)
		}
	}
	var row map[string]string
	if err := json.Unmarshal([]byte(s.must(t, "volume", "ls", "--format", "json", "-f", "name=^data$").stdout), &row); err != nil || row["Name"] != "data" || row["Driver"] != "local" || row["Scope"] != "local" || row["Labels"] != "app=db" {
		t.Errorf("ls --format json: %v %v", row, err)
	}
	oneLineError(t, s.skiff(nil, "volume", "ls", "--filter", "bogus=1"), 1)

	if r := s.must(t, "volume", "rm", "data", "scratch"); r.stdout != "data\nscratch\n" {
		t.Errorf("rm printed %q", r.stdout)
	}
	if _, err := os.Stat(filepath.Join(s.root, "volumes", "data")); !os.IsNotExist(err) {
		t.Errorf("removed volume's directory is still there: %v", err)
	}
	r = s.skiff(nil, "volume", "rm", "data")
	oneLineError(t, r, 1)
	if want := "skiff: Error response from daemon: get data: no such volume"; strings.TrimSpace(r.stderr) != want {
		t.Errorf("rm of a missing volume: %q, want %q", r.stderr, want)
	}
	if r := s.skiff(nil, "volume", "rm", "-f", "data"); r.code != 0 {
		t.Errorf("rm -f ignores a missing volume: %v", r)
	}
	if got := s.i11vstoreNames(t); len(got) != 2 {
		t.Errorf("after rm: %v", got)
	}
}

// A bad name, an unknown option, another driver or filesystem: docker's
// one line, exit 1, and nothing made.
func TestI11VstoreRefusedCreatesNothing(t *testing.T) {
	s := i11vstoreStore(t, false)
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"a"}, "create a: volume name is too short, names should be at least two alphanumeric characters"},
		{[]string{"bad name"}, `create bad name: "bad name" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{[]string{"_hidden"}, `"_hidden" includes invalid characters`},
		{[]string{"../escape"}, `"../escape" includes invalid characters`},
		{[]string{".tmp"}, `".tmp" includes invalid characters`},
		{[]string{"-o", "foo=bar", "ok1"}, `create ok1: invalid option: "foo"`},
		{[]string{"-o", "device=/srv", "ok2"}, `create ok2: missing required option: "type"`},
		{[]string{"-d", "nfs", "ok3"}, "create ok3: error looking up volume plugin nfs: volume plugins are not supported yet"},
		{[]string{"-o", "type=nfs", "-o", "o=addr=10.0.0.1", "-o", "device=:/export", "ok4"}, "create ok4: volume option type=nfs is not supported yet"},
		{[]string{"-o", "size=1G", "ok5"}, "not supported yet"},
		{[]string{"-o", "type=none", "-o", "device=/srv", "ok6"}, "type=none without o=bind is not supported yet"},
	} {
		r := s.skiff(nil, append([]string{"volume", "create"}, tc.args...)...)
		oneLineError(t, r, 1)
		if !strings.HasPrefix(r.stderr, "skiff: Error response from daemon: ") || !strings.Contains(r.stderr, tc.err) {
			t.Errorf("volume create %v: %q, want %q", tc.args, r.stderr, tc.err)
		}
		if r.stdout != "" {
			t.Errorf("volume create %v printed %q", tc.args, r.stdout)
		}
	}
	for _, e := range s.i11vstoreDirs(t) {
		if e != ".lock" && e != ".tmp" {
			t.Errorf("a refused create left %s in volumes/", e)
		}
	}
	if got := s.i11vstoreNames(t); len(got) != 0 {
		t.Errorf("volumes after refused creates: %v", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.root, "volumes", ".tmp")); len(ents) != 0 {
		t.Errorf("debris in volumes/.tmp: %v", ents)
	}
}

// Debris of a killed create (an unlocked directory in volumes/.tmp) is
// never a volume and is swept by the next create.
func TestI11VstoreDebrisSwept(t *testing.T) {
	s := i11vstoreStore(t, false)
	s.must(t, "volume", "create", "first")
	dead := filepath.Join(s.root, "volumes", ".tmp", "0123456789abcdef")
	if err := os.MkdirAll(filepath.Join(dead, "_data", "half"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dead, "volume.json"), []byte(`{"name":"ghost"}`), 0o600)
	if got := s.i11vstoreNames(t); !slices.Equal(got, []string{"first"}) {
		t.Errorf("debris shows as a volume: %v", got)
	}
	s.must(t, "volume", "create", "second")
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("debris of a dead create not swept: %v", err)
	}
}

func TestI11VstorePrune(t *testing.T) {
	s := i11vstoreStore(t, false)
	s.must(t, "volume", "create", "named")
	s.must(t, "volume", "create", "labelled", "--label", "keep=yes")
	anon := strings.TrimSpace(s.must(t, "volume", "create").stdout)
	os.WriteFile(filepath.Join(s.root, "volumes", anon, "_data", "f"), make([]byte, 2000), 0o644)

	// Without -f it asks; no stdin (EOF) and "n" are no.
	r := s.skiff(nil, "volume", "prune")
	if r.code != 0 || !strings.Contains(r.stdout, "WARNING! This will remove anonymous local volumes not used by at least one container.") || !strings.Contains(r.stdout, "Are you sure you want to continue? [y/N]") {
		t.Errorf("prune without -f: %v", r)
	}
	if r := s.skiff(strings.NewReader("n\n"), "volume", "prune"); r.code != 0 || strings.Contains(r.stdout, "Deleted") {
		t.Errorf("prune answered n: %v", r)
	}
	if got := s.i11vstoreNames(t); len(got) != 3 {
		t.Fatalf("prune removed volumes unasked: %v", got)
	}
	// Docker 23+: without -a only anonymous volumes go.
	r = s.skiff(strings.NewReader("y\n"), "volume", "prune")
	if want := "Deleted Volumes:\n" + anon + "\n\nTotal reclaimed space: 2kB\n"; r.code != 0 || !strings.HasSuffix(r.stdout, want) {
		t.Errorf("prune: %v, want stdout ending %q", r, want)
	}
	if got := s.i11vstoreNames(t); !slices.Equal(got, []string{"labelled", "named"}) {
		t.Errorf("after prune: %v", got)
	}
	// -a takes named ones too; a label filter narrows it.
	r = s.must(t, "volume", "prune", "-a", "-f", "--filter", "label!=keep")
	if want := "Deleted Volumes:\nnamed\n\nTotal reclaimed space: 0B\n"; r.stdout != want {
		t.Errorf("prune -a --filter label!=keep: %q, want %q", r.stdout, want)
	}
	if r := s.must(t, "volume", "prune", "-af"); r.stdout != "Deleted Volumes:\nlabelled\n\nTotal reclaimed space: 0B\n" {
		t.Errorf("prune -af: %q", r.stdout)
	}
	if r := s.must(t, "volume", "prune", "-f"); r.stdout != "Total reclaimed space: 0B\n" {
		t.Errorf("prune of nothing: %q", r.stdout)
	}
}

// A volume any container uses, running or stopped, is refused by volume
// rm with or without -f, in docker's words, and prune leaves it; ps
// --filter volume= finds the container by the name or the destination.
func TestI11VstoreInUse(t *testing.T) {
	s := i11vstoreStore(t, true)
	stopped := s.create(t, "-v", "used:/data", fx.busybox, "true")
	running := s.runD(t, "-v", "busy:/work", fx.busybox, "sleep", "60")
	s.must(t, "volume", "create", "free")
	for _, tc := range []struct{ name, id string }{{"used", stopped}, {"busy", running}} {
		for _, force := range []bool{false, true} {
			args := []string{"volume", "rm", tc.name}
			if force {
				args = []string{"volume", "rm", "-f", tc.name}
			}
			r := s.skiff(nil, args...)
			oneLineError(t, r, 1)
			if want := "skiff: Error response from daemon: remove " + tc.name + ": volume is in use - [" + tc.id + "]"; strings.TrimSpace(r.stderr) != want {
				t.Errorf("%v: %q, want %q", args, r.stderr, want)
			}
		}
	}
	if got := s.i11vstoreNames(t, "--filter", "dangling=false"); !slices.Equal(got, []string{"busy", "used"}) {
		t.Errorf("ls --filter dangling=false = %v", got)
	}
	if r := s.must(t, "volume", "prune", "-af"); r.stdout != "Deleted Volumes:\nfree\n\nTotal reclaimed space: 0B\n" {
		t.Errorf("prune -af with volumes in use: %q", r.stdout)
	}
	for _, tc := range []struct{ filter, want string }{
		{"volume=used", stopped}, {"volume=/data", stopped}, {"volume=busy", running}, {"volume=/work", running}, {"volume=free", ""},
	} {
		if got := strings.TrimSpace(s.must(t, "ps", "-a", "-q", "--no-trunc", "--filter", tc.filter).stdout); got != tc.want {
			t.Errorf("ps --filter %s = %q, want %q", tc.filter, got, tc.want)
		}
	}
	// Named volumes outlive their containers, even rm -v's.
	s.must(t, "rm", "-v", stopped)
	s.must(t, "rm", "-f", "-v", running)
	if got := s.i11vstoreNames(t); !slices.Equal(got, []string{"busy", "used"}) {
		t.Errorf("named volumes after rm -v: %v", got)
	}
	if r := s.must(t, "volume", "rm", "used", "busy"); r.stdout != "used\nbusy\n" {
		t.Errorf("rm once unused: %q", r.stdout)
	}
}

// rm -v and --rm remove the container's anonymous volumes (-v /ctr);
// plain rm keeps them; named volumes always stay.
func TestI11VstoreAnonymousVolumes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		run      func(s *store, t *testing.T)
		keepAnon bool
	}{
		{"rm keeps them", func(s *store, t *testing.T) {
			s.must(t, "rm", s.create(t, "-v", "/anon", "-v", "named:/named", fx.busybox, "true"))
		}, true},
		{"rm -v removes them", func(s *store, t *testing.T) {
			s.must(t, "rm", "-v", s.create(t, "-v", "/anon", "-v", "named:/named", fx.busybox, "true"))
		}, false},
		{"rm -f -v of a running container", func(s *store, t *testing.T) {
			s.must(t, "rm", "-f", "--volumes", s.runD(t, "-v", "/anon", "-v", "named:/named", fx.busybox, "sleep", "60"))
		}, false},
		{"run --rm removes them", func(s *store, t *testing.T) {
			s.must(t, "run", "--rm", "-v", "/anon", "-v", "named:/named", fx.busybox, "true")
		}, false},
		{"run -d --rm removes them", func(s *store, t *testing.T) {
			id := s.runD(t, "--rm", "-v", "/anon", "-v", "named:/named", fx.busybox, "true")
			s.skiff(nil, "wait", id)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := i11vstoreStore(t, true)
			tc.run(s, t)
			anon := []string{}
			deadline := time.Now().Add(5 * time.Second)
			for {
				anon = s.i11vstoreNames(t, "--filter", "label=com.docker.volume.anonymous")
				if tc.keepAnon || len(anon) == 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if tc.keepAnon && len(anon) != 1 || !tc.keepAnon && len(anon) != 0 {
				t.Errorf("anonymous volumes left: %v, want kept=%v", anon, tc.keepAnon)
			}
			if got := s.i11vstoreNames(t, "--filter", "name=^named$"); len(got) != 1 {
				t.Errorf("the named volume went: %v", got)
			}
		})
	}
}

// An anonymous volume another container still uses (--volumes-from)
// survives rm -v of the container that made it.
func TestI11VstoreAnonymousSharedSurvivesRmV(t *testing.T) {
	s := i11vstoreStore(t, true)
	maker := s.create(t, "-v", "/shared", fx.busybox, "true")
	user := s.create(t, "--volumes-from", maker, fx.busybox, "true")
	anon := s.i11vstoreNames(t)
	if len(anon) != 1 {
		t.Fatalf("volumes: %v", anon)
	}
	s.must(t, "rm", "-v", maker)
	if got := s.i11vstoreNames(t); !slices.Equal(got, anon) {
		t.Errorf("rm -v removed a volume another container uses: %v", got)
	}
	s.must(t, "rm", "-v", user)
	if got := s.i11vstoreNames(t); len(got) != 0 {
		t.Errorf("rm -v of its last user kept it: %v", got)
	}
}
