package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// i11vuseSetup is one container's mounts: a host dir bound read-write, one
// bound read-only, a host file bound over a path, a named volume, a nested
// destination whose parents the init makes.
type i11vuseSetup struct {
	s                      *store
	bind, roBind, hostFile string
	vol                    string
	args                   []string // run/create flags before the image
}

func i11vuseMounts(t *testing.T) *i11vuseSetup {
	t.Helper()
	s := shared(t)
	d := t.TempDir()
	m := &i11vuseSetup{s: s, bind: filepath.Join(d, "bind"), roBind: filepath.Join(d, "ro"),
		hostFile: filepath.Join(d, "app.conf"), vol: uniqueName(t)}
	for _, dir := range []string{m.bind, m.roBind} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(m.hostFile, []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.roBind, "ro-file"), []byte("ro\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m.args = []string{"-v", m.bind + ":/b", "-v", m.roBind + ":/ro:ro", "-v", m.hostFile + ":/etc/app.conf",
		"-v", m.vol + ":/v", "-v", m.bind + ":/deep/er/b"}
	t.Cleanup(func() { s.skiff(nil, "volume", "rm", "-f", m.vol) })
	return m
}

// volData is the host path of a file in the named volume.
func (m *i11vuseSetup) volData(name string) string {
	return filepath.Join(m.s.root, "volumes", m.vol, "_data", name)
}

// i11vuseWrites writes into each mount and beside them.
const i11vuseWrites = "echo vol > /v/in-vol && echo bind > /b/in-bind && echo keep > /keep"

// runWrites runs a container that writes into each mount and beside them,
// then exits; it returns its name.
func (m *i11vuseSetup) runWrites(t *testing.T) string {
	t.Helper()
	name := uniqueName(t)
	m.s.must(t, append(append([]string{"run", "--name", name}, m.args...), fx.busybox, "sh", "-c", i11vuseWrites)...)
	m.s.cleanup(t, name)
	return name
}

// TestI11VuseInspectMounts: inspect shows docker's Mounts objects and the
// flags as typed in HostConfig.
func TestI11VuseInspectMounts(t *testing.T) {
	m := i11vuseMounts(t)
	name := uniqueName(t)
	args := append(append([]string{"create", "--name", name, "--tmpfs", "/run/t:size=1m", "--read-only",
		"--mount", "type=tmpfs,target=/scratch,tmpfs-size=1048576"}, m.args...), fx.busybox, "true")
	idOf(t, m.s.skiff(nil, args...), "create")
	m.s.cleanup(t, name)

	var mounts []map[string]any
	r := m.s.must(t, "inspect", "-f", "{{json .Mounts}}", name)
	if err := json.Unmarshal([]byte(r.stdout), &mounts); err != nil {
		t.Fatalf("Mounts is not a JSON array: %v: %s", err, r.stdout)
	}
	byDest := map[string]map[string]any{}
	for _, mp := range mounts {
		byDest[mp["Destination"].(string)] = mp
	}
	want := map[string]map[string]any{
		"/b":  {"Type": "bind", "Source": m.bind, "Mode": "", "RW": true, "Propagation": "rprivate"},
		"/ro": {"Type": "bind", "Source": m.roBind, "Mode": "ro", "RW": false, "Propagation": "rprivate"},
		"/v": {"Type": "volume", "Name": m.vol, "Source": filepath.Join(m.s.root, "volumes", m.vol, "_data"),
			"Driver": "local", "RW": true, "Propagation": ""},
		"/scratch": {"Type": "tmpfs", "Source": "", "RW": true},
	}
	for dest, fields := range want {
		got, ok := byDest[dest]
		if !ok {
			t.Errorf("no mount at %s in %s", dest, r.stdout)
			continue
		}
		for k, v := range fields {
			if got[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", dest, k, got[k], v)
			}
		}
	}
	if _, ok := byDest["/run/t"]; ok {
		t.Errorf("--tmpfs /run/t is in Mounts; docker shows it in HostConfig.Tmpfs only")
	}
	r = m.s.must(t, "inspect", "-f",
		"{{json .HostConfig.Binds}}|{{json .HostConfig.Tmpfs}}|{{.HostConfig.ReadonlyRootfs}}|{{json .HostConfig.Mounts}}|{{json .HostConfig.VolumesFrom}}", name)
	binds, _ := json.Marshal([]string{m.bind + ":/b", m.roBind + ":/ro:ro", m.hostFile + ":/etc/app.conf", m.vol + ":/v", m.bind + ":/deep/er/b"})
	wantHC := string(binds) + `|{"/run/t":"size=1m"}|true|[{"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":1048576}}]|null`
	if got := strings.TrimSpace(r.stdout); got != wantHC {
		t.Errorf("HostConfig:\n got %s\nwant %s", got, wantHC)
	}
}

// TestI11VuseDiffCommitExport: what a container wrote into its volume and
// binds, their mount points and a host file bound over a path appear in
// none of diff, commit and export; its own change does.
func TestI11VuseDiffCommitExport(t *testing.T) {
	m := i11vuseMounts(t)
	name := m.runWrites(t)

	diff := m.s.must(t, "diff", name).stdout
	if !strings.Contains(diff, "A /keep\n") {
		t.Errorf("diff lacks the container's own change A /keep:\n%s", diff)
	}
	for _, line := range strings.Split(strings.TrimSpace(diff), "\n") {
		p := line[2:]
		for _, mp := range []string{"/v", "/b", "/ro", "/etc/app.conf", "/deep"} {
			if p == mp || strings.HasPrefix(p, mp+"/") {
				t.Errorf("diff shows %q, at or under the mount point %s", line, mp)
			}
		}
	}

	out := filepath.Join(t.TempDir(), "export.tar")
	m.s.must(t, "export", "-o", out, name)
	i11vuseNoHostData(t, "export of the stopped container", out)

	ref := "i11vuse-commit:" + strings.ReplaceAll(uniqueName(t), "e2e-", "")
	m.s.must(t, "commit", name, ref)
	t.Cleanup(func() { m.s.skiff(nil, "rmi", "-f", ref) })
	got := m.s.runOut(t, ref, "sh", "-c", "cat /keep; ls -A /v /b /deep/er/b 2>/dev/null; cat /etc/app.conf 2>/dev/null; true")
	if got != "keep\n" {
		t.Errorf("the committed image holds more than the container's own change: %q", got)
	}

	// A running container's export: its mounts are its own namespace's.
	running := uniqueName(t)
	m.s.runD(t, append(append([]string{"--name", running}, m.args...), fx.busybox, "sh", "-c", i11vuseWrites+" && sleep 300")...)
	m.s.waitFile(t, running, "/keep")
	m.s.must(t, "export", "-o", out, running)
	i11vuseNoHostData(t, "export of the running container", out)
}

// i11vuseNoHostData asserts an export tar holds nothing from the mounts.
func i11vuseNoHostData(t *testing.T, what, tarFile string) {
	t.Helper()
	b, err := os.ReadFile(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	ents := tarEntries(t, b)
	if _, ok := ents["keep"]; !ok {
		t.Errorf("%s lacks /keep", what)
	}
	for _, p := range []string{"v/in-vol", "b/in-bind", "ro/ro-file", "deep/er/b/in-bind"} {
		if _, ok := ents[p]; ok {
			t.Errorf("%s holds %s, a mount's content", what, p)
		}
	}
	if h, ok := ents["etc/app.conf"]; ok && h.Size != 0 {
		t.Errorf("%s holds the host file bound over /etc/app.conf (%d bytes)", what, h.Size)
	}
}

// TestI11VuseCp: cp to and from a path inside a volume or bind reaches its
// data, running or stopped; a read-only bind refuses a copy in; a link in
// the volume resolves inside the container's root, never the host's.
func TestI11VuseCp(t *testing.T) {
	m := i11vuseMounts(t)
	stopped := m.runWrites(t)
	running := uniqueName(t)
	m.s.runD(t, append(append([]string{"--name", running}, m.args...), fx.busybox, "sleep", "300")...)
	src := filepath.Join(t.TempDir(), "from-host")
	if err := os.WriteFile(src, []byte("copied\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link the container could plant in its volume, aimed at the host.
	if err := os.Symlink("/../../../../../../etc", m.volData("out")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ state, name string }{{"stopped", stopped}, {"running", running}} {
		t.Run(c.state, func(t *testing.T) {
			for _, d := range []struct{ ctr, host string }{
				{"/v/" + c.state, m.volData(c.state)},
				{"/b/" + c.state, filepath.Join(m.bind, c.state)},
				{"/deep/er/b/" + c.state + "-deep", filepath.Join(m.bind, c.state+"-deep")},
			} {
				m.s.must(t, "cp", src, c.name+":"+d.ctr)
				if b, err := os.ReadFile(d.host); err != nil || string(b) != "copied\n" {
					t.Errorf("cp to %s: the mount's host data has %q, %v", d.ctr, b, err)
				}
				back := filepath.Join(t.TempDir(), "back")
				m.s.must(t, "cp", c.name+":"+d.ctr, back)
				if b, err := os.ReadFile(back); err != nil || string(b) != "copied\n" {
					t.Errorf("cp from %s: %q, %v", d.ctr, b, err)
				}
			}
			back := filepath.Join(t.TempDir(), "ro-file")
			m.s.must(t, "cp", c.name+":/ro/ro-file", back)
			if b, _ := os.ReadFile(back); string(b) != "ro\n" {
				t.Errorf("cp from the read-only bind: %q", b)
			}
			r := m.s.skiff(nil, "cp", src, c.name+":/ro/x")
			oneLineError(t, r, 1)
			if !strings.Contains(r.stderr, "mounted volume is marked read-only") {
				t.Errorf("cp into a read-only bind: %v", r)
			}
			if _, err := os.Stat(filepath.Join(m.roBind, "x")); err == nil {
				t.Errorf("cp wrote into the read-only bind's host dir")
			}
			passwd := filepath.Join(t.TempDir(), "passwd")
			m.s.must(t, "cp", c.name+":/v/out/passwd", passwd)
			ctr, _ := os.ReadFile(passwd)
			host, _ := os.ReadFile("/etc/passwd")
			if string(ctr) == string(host) {
				t.Errorf("cp through the volume's link read the host's /etc/passwd")
			}
		})
	}
	if diff := m.s.must(t, "diff", stopped).stdout; strings.Contains(diff, "/v/") || strings.Contains(diff, "/b/") {
		t.Errorf("the copies into the stopped container went to its own filesystem:\n%s", diff)
	}
}
