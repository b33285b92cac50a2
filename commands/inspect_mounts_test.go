package commands

import (
	"bytes"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/state"
)

// TestContainerInspectMounts: inspect's Mounts and HostConfig's mount
// fields from a record, in docker's objects, keys and order.
func TestContainerInspectMounts(t *testing.T) {
	vol := "/r/volumes/db/_data"
	anon := strings.Repeat("a", 64)
	c := state.Container{ID: strings.Repeat("b", 64), Name: "m", Status: state.Created, Host: state.Host{
		Binds:          []string{"/srv:/srv:ro", "db:/var/lib/db", "/cache"},
		Tmpfs:          map[string]string{"/run": "size=64m"},
		VolumesFrom:    []string{"other:ro"},
		ReadonlyRootfs: true,
		Mounts: []state.Mount{
			{Type: "bind", Source: "/srv", Destination: "/srv", ReadOnly: true, Propagation: "rprivate", Mode: "ro", Origin: "bind"},
			{Type: "volume", Name: "db", Source: vol, Destination: "/var/lib/db", Origin: "bind"},
			{Type: "volume", Name: anon, Source: "/r/volumes/" + anon + "/_data", Destination: "/cache", Origin: "bind", Anonymous: true},
			{Type: "tmpfs", Destination: "/run", Origin: "tmpfs", Options: []string{"size=64m"}},
			{Type: "bind", Source: "/etc/app", Destination: "/app", Propagation: "rslave", Origin: "mount"},
			{Type: "volume", Name: anon, Source: "/r/volumes/" + anon + "/_data", Destination: "/anon", Origin: "mount", Anonymous: true, NoCopy: true},
			{Type: "tmpfs", Destination: "/scratch", Origin: "mount", ReadOnly: true, Options: []string{"size=1m", "mode=1777"}},
			{Type: "volume", Name: "logs", Source: "/r/volumes/logs/_data", Destination: "/logs", Origin: "volumes-from", ReadOnly: true},
		},
	}}
	doc := toContainerInspect(&Globals{Paths: config.Paths{Root: "/r"}}, &c)
	tests := []struct{ format, want string }{
		{"{{json .Mounts}}", `[` +
			`{"Type":"bind","Source":"/srv","Destination":"/srv","Mode":"ro","RW":false,"Propagation":"rprivate"},` +
			`{"Type":"volume","Name":"db","Source":"` + vol + `","Destination":"/var/lib/db","Driver":"local","Mode":"","RW":true,"Propagation":""},` +
			`{"Type":"volume","Name":"` + anon + `","Source":"/r/volumes/` + anon + `/_data","Destination":"/cache","Driver":"local","Mode":"","RW":true,"Propagation":""},` +
			`{"Type":"bind","Source":"/etc/app","Destination":"/app","Mode":"","RW":true,"Propagation":"rslave"},` +
			`{"Type":"volume","Name":"` + anon + `","Source":"/r/volumes/` + anon + `/_data","Destination":"/anon","Driver":"local","Mode":"","RW":true,"Propagation":""},` +
			`{"Type":"tmpfs","Source":"","Destination":"/scratch","Mode":"","RW":false,"Propagation":""},` +
			`{"Type":"volume","Name":"logs","Source":"/r/volumes/logs/_data","Destination":"/logs","Driver":"local","Mode":"","RW":false,"Propagation":""}]`},
		{"{{json .HostConfig.Mounts}}", `[` +
			`{"Type":"bind","Source":"/etc/app","Target":"/app","BindOptions":{"Propagation":"rslave"}},` +
			`{"Type":"volume","Target":"/anon","VolumeOptions":{"NoCopy":true,"DriverConfig":{}}},` +
			`{"Type":"tmpfs","Target":"/scratch","ReadOnly":true,"TmpfsOptions":{"SizeBytes":1048576,"Mode":1023}}]`},
		{"{{json .HostConfig.Binds}} {{json .HostConfig.Tmpfs}} {{json .HostConfig.VolumesFrom}} {{.HostConfig.ReadonlyRootfs}}",
			`["/srv:/srv:ro","db:/var/lib/db","/cache"] {"/run":"size=64m"} ["other:ro"] true`},
		{"{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}", "/srv= /var/lib/db=db /cache=" + anon + " /app= /anon=" + anon + " /scratch= /logs=logs "},
	}
	for _, tt := range tests {
		tmpl, err := goTemplate(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := printDocs(&b, tmpl, []any{doc}); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if got := strings.TrimSuffix(b.String(), "\n"); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.format, got, tt.want)
		}
	}
}

// TestContainerInspectNoMounts: docker's values for a container without
// mount flags: Mounts [], Binds and VolumesFrom null, no HostConfig.Mounts
// or Tmpfs key.
func TestContainerInspectNoMounts(t *testing.T) {
	c := state.Container{ID: strings.Repeat("b", 64), Name: "n", Status: state.Created}
	doc := toContainerInspect(&Globals{Paths: config.Paths{Root: "/r"}}, &c)
	var b bytes.Buffer
	if err := printDocs(&b, nil, []any{doc}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Mounts": []`, `"Binds": null`, `"VolumesFrom": null`, `"ReadonlyRootfs": false`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in\n%s", want, b.String())
		}
	}
	for _, absent := range []string{`"Tmpfs"`, `"Mounts": null`} {
		if strings.Contains(b.String(), absent) {
			t.Errorf("%s in the JSON; docker leaves it out", absent)
		}
	}
}

func TestTmpfsBytes(t *testing.T) {
	for in, want := range map[string]int64{"65536": 65536, "64k": 64 << 10, "64m": 64 << 20, "2g": 2 << 30, "1G": 1 << 30, "50%": 0, "": 0} {
		if got := tmpfsBytes(in); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}
