package volume

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name, err string
	}{
		{"ab", ""},
		{"my-vol_1.2", ""},
		{"0a", ""},
		{"a", "volume name is too short, names should be at least two alphanumeric characters"},
		{".", "volume name is too short"},
		{"", `"" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`},
		{"hello world", `"hello world" includes invalid characters`},
		{"_ab", "includes invalid characters"},
		{".lock", "includes invalid characters"},
		{"..", "includes invalid characters"},
		{"a/b", "includes invalid characters"},
		{"../etc", "includes invalid characters"},
		{"é1", "includes invalid characters"},
	} {
		err := ValidName(tc.name)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ValidName(%q) = %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestValidOptions(t *testing.T) {
	for _, tc := range []struct {
		driver string
		opts   map[string]string
		err    string
	}{
		{"", nil, ""},
		{"local", nil, ""},
		{"local", map[string]string{"type": "none", "o": "bind", "device": "/srv/data"}, ""},
		{"", map[string]string{"type": "none", "o": "rbind,ro", "device": "/srv"}, ""},
		{"", map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=100m,uid=1000"}, ""},
		{"", map[string]string{"type": "tmpfs", "device": "tmpfs"}, ""},
		{"nfsplugin", nil, "error looking up volume plugin nfsplugin: volume plugins are not supported yet"},
		{"", map[string]string{"hello": "world"}, `invalid option: "hello"`},
		{"", map[string]string{"size": "10G"}, "not supported yet"},
		{"", map[string]string{"device": "/x"}, `missing required option: "type"`},
		{"", map[string]string{"type": "tmpfs"}, `missing required option: "device"`},
		{"", map[string]string{"o": "bind"}, `missing required option: "device"`},
		{"", map[string]string{"type": "nfs", "o": "addr=10.0.0.1,rw", "device": ":/export"}, "volume option type=nfs is not supported yet"},
		{"", map[string]string{"type": "ext4", "device": "/dev/sda1"}, "type=ext4 is not supported yet"},
		{"", map[string]string{"type": "none", "device": "/srv"}, "type=none without o=bind is not supported yet"},
		{"", map[string]string{"type": "none", "o": "bind", "device": "srv"}, "must be an absolute path"},
	} {
		err := validOptions(tc.driver, tc.opts)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("validOptions(%q, %v) = %v, want %q", tc.driver, tc.opts, err, tc.err)
		}
	}
}

func TestMountSource(t *testing.T) {
	for _, tc := range []struct {
		opts     map[string]string
		typ, src string
		options  []string
	}{
		{nil, "bind", "/r/volumes/v1/_data", nil},
		{map[string]string{"type": "none", "o": "bind", "device": "/srv"}, "bind", "/srv", []string{"bind"}},
		{map[string]string{"type": "none", "o": "rbind,,ro", "device": "/srv"}, "bind", "/srv", []string{"rbind", "ro"}},
		{map[string]string{"type": "tmpfs", "o": "size=1m,mode=700", "device": "tmpfs"}, "tmpfs", "tmpfs", []string{"size=1m", "mode=700"}},
	} {
		v := &Volume{Name: "v1", Mountpoint: "/r/volumes/v1/_data", Options: tc.opts}
		typ, src, options := v.MountSource()
		if typ != tc.typ || src != tc.src || !slices.Equal(options, tc.options) {
			t.Errorf("MountSource(%v) = %q %q %q, want %q %q %q", tc.opts, typ, src, options, tc.typ, tc.src, tc.options)
		}
	}
}

func TestCreateGetListRemove(t *testing.T) {
	s := Store{Root: t.TempDir()}
	v, err := s.Create("data", CreateOptions{Labels: map[string]string{"k": "v"}, Options: map[string]string{"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Name != "data" || v.Driver != "local" || v.Mountpoint != filepath.Join(s.Root, "volumes/data/_data") || v.Labels["k"] != "v" || v.Options["o"] != "size=1m" || v.Anonymous || v.CreatedAt.IsZero() {
		t.Errorf("created %+v", v)
	}
	if fi, err := os.Stat(v.Mountpoint); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Errorf("_data: %v %v", fi, err)
	}
	// An existing name is returned as it is, whatever is asked the second time.
	again, err := s.Create("data", CreateOptions{Labels: map[string]string{"other": "x"}})
	if err != nil || again.Labels["k"] != "v" || again.Labels["other"] != "" || !again.CreatedAt.Equal(v.CreatedAt) {
		t.Errorf("second create: %+v %v", again, err)
	}
	anon, err := s.Create("", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(anon.Name) != 64 || !anon.Anonymous {
		t.Errorf("anonymous: %+v", anon)
	}
	if _, ok := anon.Labels[AnonymousLabel]; !ok {
		t.Errorf("anonymous volume lacks docker's label %s: %v", AnonymousLabel, anon.Labels)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range list {
		names = append(names, v.Name)
	}
	if want := []string{anon.Name, "data"}; !slices.Equal(names, want) && !slices.Equal(names, []string{"data", anon.Name}) {
		t.Errorf("List = %v, want %v", names, want)
	}
	if err := s.Remove("data"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("data"); !errors.Is(err, ErrNotFound) || err.Error() != "get data: no such volume" {
		t.Errorf("Get after Remove: %v", err)
	}
	if err := s.Remove("data"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove: %v", err)
	}
	if ents, _ := os.ReadDir(s.tmpDir()); len(ents) != 0 {
		t.Errorf("Remove left %v in .tmp", ents)
	}
}

func TestCreateRefusesAndMakesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    CreateOptions
		err  string
	}{
		{"a", CreateOptions{}, "create a: volume name is too short"},
		{"bad name", CreateOptions{}, `create bad name: "bad name" includes invalid characters`},
		{"../x", CreateOptions{}, "includes invalid characters"},
		{"ok", CreateOptions{Options: map[string]string{"foo": "bar"}}, `create ok: invalid option: "foo"`},
		{"ok", CreateOptions{Driver: "nfs"}, "not supported yet"},
		{"ok", CreateOptions{Options: map[string]string{"type": "nfs", "device": ":/x"}}, "not supported yet"},
	} {
		s := Store{Root: t.TempDir()}
		_, err := s.Create(tc.name, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Create(%q, %+v) = %v, want %q", tc.name, tc.o, err, tc.err)
		}
		if ents, _ := os.ReadDir(s.Root); len(ents) != 0 {
			t.Errorf("Create(%q) refused but made %v", tc.name, ents)
		}
	}
}

func TestGetRefusesPaths(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "volume.json"), []byte(`{"name":"x"}`), 0o600)
	s := Store{Root: filepath.Join(root, "sub")}
	for _, name := range []string{"..", "../..", ".tmp", "a/b", ""} {
		if _, err := s.Get(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q) = %v, want not found", name, err)
		}
	}
}

// A killed create leaves an unlocked directory in .tmp: the next create
// sweeps it, and leaves a live writer's (locked) directory alone.
func TestCreateSweepsDebrisOnly(t *testing.T) {
	s := Store{Root: t.TempDir()}
	if err := s.makeDirs(); err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(s.tmpDir(), "deadbeef")
	os.MkdirAll(filepath.Join(dead, "_data", "half"), 0o755)
	live, unlock, err := lockedTemp(s.tmpDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := s.Create("vol", CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("debris of a dead create not swept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live create's directory was swept: %v", err)
	}
	// Debris never shows as a volume.
	if vs, _ := s.List(); len(vs) != 1 || vs[0].Name != "vol" {
		t.Errorf("List = %v", vs)
	}
}

func TestFill(t *testing.T) {
	s := Store{Root: t.TempDir()}
	v, err := s.Create("vol", CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string) func(string) error {
		return func(dir string) error {
			if filepath.Dir(dir) != filepath.Dir(v.Mountpoint) {
				t.Errorf("fill dir %s is not beside _data", dir)
			}
			if err := os.Chmod(dir, 0o750); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644)
		}
	}
	// A failing fill leaves the volume empty and no debris.
	if err := s.Fill(v, func(dir string) error {
		write("half")(dir)
		return errors.New("boom")
	}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("failing fill: %v", err)
	}
	assertEntries(t, v.Mountpoint, nil)
	if err := s.Fill(v, write("first")); err != nil {
		t.Fatal(err)
	}
	assertEntries(t, v.Mountpoint, []string{"first"})
	if fi, _ := os.Stat(v.Mountpoint); fi.Mode().Perm() != 0o750 {
		t.Errorf("_data mode %v, want the fill dir's 0750", fi.Mode().Perm())
	}
	// A volume with content is never filled again.
	called := false
	if err := s.Fill(v, func(string) error { called = true; return nil }); err != nil || called {
		t.Errorf("second fill: called %v, %v", called, err)
	}
	// Filled between the check and the rename: the copy is discarded.
	os.Remove(filepath.Join(v.Mountpoint, "first"))
	if err := s.Fill(v, func(dir string) error {
		os.WriteFile(filepath.Join(v.Mountpoint, "racer"), nil, 0o644)
		return write("late")(dir)
	}); err != nil {
		t.Fatal(err)
	}
	assertEntries(t, v.Mountpoint, []string{"racer"})
	assertEntries(t, filepath.Dir(v.Mountpoint), []string{"_data", "volume.json"})
}

func TestFillSweepsDeadFill(t *testing.T) {
	s := Store{Root: t.TempDir()}
	v, _ := s.Create("vol", CreateOptions{})
	dead := filepath.Join(filepath.Dir(v.Mountpoint), ".fill-dead")
	os.MkdirAll(filepath.Join(dead, "half"), 0o755)
	if err := s.Fill(v, func(dir string) error { return os.WriteFile(filepath.Join(dir, "f"), nil, 0o644) }); err != nil {
		t.Fatal(err)
	}
	assertEntries(t, filepath.Dir(v.Mountpoint), []string{"_data", "volume.json"})
}

func assertEntries(t *testing.T, dir string, want []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s has %v, want %v", dir, got, want)
	}
}

func TestHoldBlocksExclusive(t *testing.T) {
	s := Store{Root: t.TempDir()}
	r1, err := s.Hold()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Hold() // shared: a second holder is not blocked
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(filepath.Join(s.dir(), ".lock"))
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
		t.Fatal("exclusive lock taken while held")
	}
	r1()
	r2()
	release, err := s.Exclusive()
	if err != nil {
		t.Fatal(err)
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
		t.Error("shared lock taken while exclusive")
	}
	release()
}
