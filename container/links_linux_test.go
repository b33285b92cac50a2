package container

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// linkFixture is a store with containers to link to: db on the bridge
// (running: its "process" is the test's own, so the record reads as
// alive), side sharing db's network namespace, hosty on the host's
// network, stopped on the bridge and not running, lonely on none.
type linkFixture struct {
	s                                Store
	db, side, hosty, stopped, lonely *state.Container
}

func newLinkFixture(t *testing.T) linkFixture {
	t.Helper()
	s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
	save := func(id, name string, edit func(*state.Container)) *state.Container {
		c := mkContainer(t, s.Root, strings.Repeat(id, 64), name, time.Unix(1, 0))
		c.Host.NetworkMode = spec.NetworkBridge
		c.Config.Hostname = name + "-host"
		edit(c)
		if err := state.Save(s.Root, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	f := linkFixture{s: s}
	f.db = save("d", "db", func(c *state.Container) {
		c.Status = state.Running
		c.Pid, c.PidStartTime = proc.Self()
		c.Network = &state.NetworkStatus{Network: network.BridgeName, IPAddress: "172.17.0.2"}
		c.Config.ExposedPorts = map[string]struct{}{"5432/tcp": {}}
		c.Config.Env = []string{"PATH=/bin", "HOSTNAME=db-host", "PGPASS=secret"}
	})
	f.side = save("5", "side", func(c *state.Container) { c.Host.NetworkMode = spec.NetworkContainerPrefix + f.db.ID })
	f.hosty = save("4", "hosty", func(c *state.Container) { c.Host.NetworkMode = spec.NetworkHost })
	f.stopped = save("3", "stopped", func(c *state.Container) { c.Status = state.Exited })
	f.lonely = save("2", "lonely", func(c *state.Container) { c.Host.NetworkMode = spec.NetworkNone })
	return f
}

func TestResolveLinks(t *testing.T) {
	f := newLinkFixture(t)
	tests := []struct {
		name  string
		mode  string
		links []string
		want  []state.Link
		err   string
	}{
		{"alias", spec.NetworkBridge, []string{"db:dbalias"}, []state.Link{{ID: f.db.ID, Name: "db", Alias: "dbalias"}}, ""},
		{"no alias: the name", spec.NetworkBridge, []string{"db", "stopped"},
			[]state.Link{{ID: f.db.ID, Name: "db", Alias: "db"}, {ID: f.stopped.ID, Name: "stopped", Alias: "stopped"}}, ""},
		{"by id, on none", spec.NetworkNone, []string{f.db.ID[:12] + ":x"}, []state.Link{{ID: f.db.ID, Name: "db", Alias: "x"}}, ""},
		{"an alias twice: the first", spec.NetworkBridge, []string{"db:x", "stopped:x", "stopped"},
			[]state.Link{{ID: f.db.ID, Name: "db", Alias: "x"}, {ID: f.stopped.ID, Name: "stopped", Alias: "stopped"}}, ""},
		{"container: followed to its owner", spec.NetworkBridge, []string{"side:s"}, []state.Link{{ID: f.db.ID, Name: "db", Alias: "s"}}, ""},
		{"missing", spec.NetworkBridge, []string{"db", "nope:x"}, nil, "could not get container for nope: No such container: nope"},
		{"host network", spec.NetworkBridge, []string{"hosty"}, nil, errLinkToHost.Error()},
		{"bad format", spec.NetworkBridge, []string{"a:b:c"}, nil, "bad format for links: a:b:c"},
		{"user network: missing kept by name", "mynet", []string{"nope:x", "db:y"},
			[]state.Link{{Name: "nope", Alias: "x"}, {ID: f.db.ID, Name: "db", Alias: "y"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := state.Host{NetworkMode: tt.mode}
			err := f.s.resolveLinks(&h, tt.links)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, h.Links); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
		})
	}
}

// At a start on the bridge each link is read from its target's record as
// it is now; docker's errors when it cannot be linked to.
func TestBridgeLinks(t *testing.T) {
	f := newLinkFixture(t)
	link := func(c *state.Container, alias string) state.Link {
		return state.Link{ID: c.ID, Name: c.Name, Alias: alias}
	}
	web := func(mode string, links ...state.Link) *Container {
		return &Container{store: f.s, State: &state.Container{ID: strings.Repeat("a", 64), Name: "web",
			Host: state.Host{NetworkMode: mode, Links: links}}}
	}
	t.Run("hosts and env", func(t *testing.T) {
		gone := state.Link{ID: strings.Repeat("9", 64), Name: "gone", Alias: "gone"}
		c := web(spec.NetworkBridge, link(f.db, "dbalias"), gone)
		hosts, err := c.linkHosts()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"dbalias db-host db:172.17.0.2"}, hosts); diff != "" {
			t.Errorf("hosts (-want +got):\n%s", diff)
		}
		env, err := c.linkEnv()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"DBALIAS_PORT=tcp://172.17.0.2:5432",
			"DBALIAS_PORT_5432_TCP=tcp://172.17.0.2:5432",
			"DBALIAS_PORT_5432_TCP_ADDR=172.17.0.2",
			"DBALIAS_PORT_5432_TCP_PORT=5432",
			"DBALIAS_PORT_5432_TCP_PROTO=tcp",
			"DBALIAS_NAME=/web/dbalias",
			"DBALIAS_ENV_PGPASS=secret",
		}
		if diff := cmp.Diff(want, env); diff != "" {
			t.Errorf("env (-want +got):\n%s", diff)
		}
	})
	t.Run("off the bridge: nothing", func(t *testing.T) {
		for _, mode := range []string{spec.NetworkNone, "mynet"} {
			if env, err := web(mode, link(f.stopped, "s")).linkEnv(); err != nil || env != nil {
				t.Errorf("--network %s: env %v, error %v; want neither", mode, env, err)
			}
		}
	})
	errs := []struct {
		link state.Link
		want string
	}{
		{link(f.stopped, "st"), "Cannot link to a non running container: /stopped AS /web/st"},
		{link(f.lonely, "l"), "Cannot link to /lonely, as it does not belong to the default network"},
	}
	for _, tt := range errs {
		c := web(spec.NetworkBridge, link(f.db, "db"), tt.link)
		if _, err := c.linkHosts(); err == nil || err.Error() != tt.want {
			t.Errorf("linkHosts with a link to %s: error %v, want %q", tt.link.Name, err, tt.want)
		}
		if _, err := c.linkEnv(); err == nil || err.Error() != tt.want {
			t.Errorf("linkEnv with a link to %s: error %v, want %q", tt.link.Name, err, tt.want)
		}
	}
}

// The init gets the links' variables; config.json and c.spec stay as
// they were.
func TestSpecWithLinks(t *testing.T) {
	f := newLinkFixture(t)
	raw := []byte(`{"ociVersion":"1.0.2","process":{"args":["sh"],"env":["PATH=/bin","HOSTNAME=w","A=1"]}}`)
	c := &Container{store: f.s, spec: raw, State: &state.Container{Name: "web",
		Host: state.Host{NetworkMode: spec.NetworkBridge, Links: []state.Link{{ID: f.db.ID, Name: "db", Alias: "db"}}}}}
	got, err := c.specWithLinks()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"PATH=/bin","HOSTNAME=w","DB_PORT=tcp://172.17.0.2:5432"`, `"DB_ENV_PGPASS=secret","A=1"]`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("init's config %s\nhas no %s", got, want)
		}
	}
	if !strings.Contains(string(c.spec), `"env":["PATH=/bin","HOSTNAME=w","A=1"]`) {
		t.Errorf("c.spec changed: %s", c.spec)
	}
	c.State.Host.Links = nil
	if got, err := c.specWithLinks(); err != nil || &got[0] != &raw[0] {
		t.Errorf("without links the spec is not c.spec as it is (error %v)", err)
	}
}

func TestNameLinks(t *testing.T) {
	f := newLinkFixture(t)
	links := []state.Link{{Name: "db", Alias: "DBAlias"}, {Name: "nope", Alias: "x"}}
	c := &Container{store: f.s, State: &state.Container{Host: state.Host{NetworkMode: "mynet", Links: links}}}
	if diff := cmp.Diff([]network.NameLink{{Alias: "dbalias", ContainerID: f.db.ID}}, c.nameLinks()); diff != "" {
		t.Errorf("nameLinks (-want +got):\n%s", diff)
	}
	c.State.Host.NetworkMode = spec.NetworkBridge
	if got := c.nameLinks(); got != nil {
		t.Errorf("nameLinks on the bridge %v, want none", got)
	}
}

// An exec'd process gets the links' variables as a start does; the
// container's own win.
func TestExecLinkEnv(t *testing.T) {
	f := newLinkFixture(t)
	rec := &state.Container{Name: "web", Config: state.Config{Env: []string{"PATH=/bin", "DB_NAME=mine"}},
		Host: state.Host{NetworkMode: spec.NetworkBridge, Links: []state.Link{{ID: f.db.ID, Name: "db", Alias: "db"}}}}
	env, err := f.s.execLinkEnv(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(env, "DB_PORT=tcp://172.17.0.2:5432") || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "DB_NAME=") }) {
		t.Errorf("exec's link env %v: want DB_PORT, and no DB_NAME over the container's own", env)
	}
	rec.Host.Links = append(rec.Host.Links, state.Link{ID: f.stopped.ID, Name: "stopped", Alias: "st"})
	if _, err := f.s.execLinkEnv(rec); err == nil || !strings.HasPrefix(err.Error(), "Cannot link to a non running container") {
		t.Errorf("exec with a linked container stopped: error %v, want docker's", err)
	}
}

// A linked container that starts again puts its address into the hosts
// entries of the running containers that link to it, found by the marks
// their starts left; marks of containers gone or no longer linking go.
func TestUpdateLinkingHosts(t *testing.T) {
	f := newLinkFixture(t)
	s := f.s
	webID, goneID := strings.Repeat("a", 64), strings.Repeat("b", 64)
	web := mkContainer(t, s.Root, webID, "web", time.Unix(2, 0))
	web.Status = state.Running
	web.Pid, web.PidStartTime = proc.Self()
	web.Host = state.Host{NetworkMode: spec.NetworkBridge, Links: []state.Link{{ID: f.db.ID, Name: "db", Alias: "dbalias"}}}
	if err := state.Save(s.Root, web); err != nil {
		t.Fatal(err)
	}
	webDir, _ := state.Dir(s.Root, webID)
	const before = "127.0.0.1\tlocalhost\n172.17.0.2\tdbalias db-host db\n172.17.0.4\tweb\n"
	if err := os.WriteFile(filepath.Join(webDir, "hosts"), []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	// web's start marks db (and a container long gone marked it too; side, which
	// does not link to db, left a mark from an older life).
	(&Container{store: s, State: web}).markLinked()
	dbDir, _ := state.Dir(s.Root, f.db.ID)
	for _, id := range []string{goneID, f.side.ID} {
		if err := os.WriteFile(filepath.Join(dbDir, linkedByDir, id), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	db := *f.db
	db.Network = &state.NetworkStatus{Network: network.BridgeName, IPAddress: "172.17.0.3"}
	(&Container{store: s, State: &db, Dir: dbDir}).updateLinkingHosts()

	got, _ := os.ReadFile(filepath.Join(webDir, "hosts"))
	if want := strings.Replace(before, "172.17.0.2\t", "172.17.0.3\t", 1); string(got) != want {
		t.Errorf("web's hosts after db's start:\n%s\nwant:\n%s", got, want)
	}
	marks, _ := os.ReadDir(filepath.Join(dbDir, linkedByDir))
	if len(marks) != 1 || marks[0].Name() != webID {
		t.Errorf("marks left %v, want web's alone", marks)
	}
}
