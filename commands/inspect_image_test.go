package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/store"
)

func TestInspectImages(t *testing.T) {
	root := t.TempDir()
	s, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	cfg := `{"architecture":"amd64","os":"linux","author":"me","config":{"Env":["PATH=/bin"],"Cmd":["sh"],"WorkingDir":"/w","Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":[]}}`
	img, err := s.AddImage(store.NewImage{Manifest: []byte(`{}`), Config: []byte(cfg), Created: time.Unix(1e9, 0),
		Names: []string{"docker.io/library/busybox:latest"}})
	if err != nil {
		t.Fatal(err)
	}
	g := &Globals{Paths: config.Paths{Root: root}}
	tests := []struct {
		name, format string
		args         []string
		want         string // substring of the output
		wantErr      bool
	}{
		{name: "json config", format: "{{json .Config}}", args: []string{"busybox"},
			want: `"Env":["PATH=/bin"],"Cmd":["sh"]`},
		{name: "fields", format: "{{.Id}} {{.Os}}/{{.Architecture}} {{.Author}} {{join .RepoTags \",\"}}", args: []string{"busybox:latest"},
			want: img.ID + " linux/amd64 me busybox:latest"},
		{name: "by id prefix", format: "{{.Config.WorkingDir}}", args: []string{shortid.Of(img.ID)[:5]}, want: "/w"},
		{name: "missing after found", format: "{{.Id}}", args: []string{"busybox", "nope"}, want: img.ID, wantErr: true},
		{name: "bad template", format: "{{.Nope", args: []string{"busybox"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := inspectImages(g, tt.args, tt.format, &b)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !strings.Contains(b.String(), tt.want) {
				t.Errorf("output %q lacks %q", b.String(), tt.want)
			}
		})
	}
	t.Run("default json uses docker's keys", func(t *testing.T) {
		var b bytes.Buffer
		if err := inspectImages(g, []string{"busybox"}, "", &b); err != nil {
			t.Fatal(err)
		}
		var docs []map[string]any
		if err := json.Unmarshal(b.Bytes(), &docs); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"Id", "RepoTags", "RepoDigests", "Created", "Author", "Config", "Architecture", "Os", "Size", "RootFS"} {
			if _, ok := docs[0][k]; !ok {
				t.Errorf("key %s missing", k)
			}
		}
		if docs[0]["Created"] != "2001-09-09T01:46:40Z" {
			t.Errorf("Created = %v", docs[0]["Created"])
		}
	})
	var code int
	out := captureStderr(t, func() {
		err := inspectImages(g, []string{"nope"}, "", &bytes.Buffer{})
		if ee := (*ExitError)(nil); errors.As(err, &ee) {
			code = ee.Code
		}
	})
	if code != 1 || out != "skiff: No such image: nope:latest\n" {
		t.Errorf("missing image: exit %d, stderr %q", code, out)
	}
}

// dockerImageKeys are the keys docker prints for an image, in its order
// (the Config as docker up to v27 prints it, the widest set).
var dockerImageKeys = map[string][]string{
	"": {"Id", "RepoTags", "RepoDigests", "Parent", "Comment", "Created", "DockerVersion", "Author", "Config",
		"Architecture", "Os", "Size", "GraphDriver", "RootFS", "Metadata"},
	"Config": {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
		"StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"},
	"GraphDriver": {"Data", "Name"},
	"RootFS":      {"Type", "Layers"},
	"Metadata":    {"LastTagTime"},
}

var dockerOptionalImageKeys = []string{"Variant", "OsVersion", "Config.ExposedPorts", "Config.Healthcheck",
	"Config.ArgsEscaped", "Config.NetworkDisabled", "Config.MacAddress", "Config.StopSignal", "Config.StopTimeout",
	"Config.Shell"}

func TestImageInspectKeys(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img := &store.Image{ID: "sha256:" + strings.Repeat("a", 64), Layers: []string{"sha256:" + strings.Repeat("b", 64)},
		Config: v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
			Cmd: []string{"sh"}, Volumes: map[string]struct{}{"/data": {}}, OnBuild: []string{"RUN make"}}}}
	doc := toInspect(s, img)
	var b bytes.Buffer
	if err := printDocs(&b, nil, []any{doc}); err != nil {
		t.Fatal(err)
	}
	for path, want := range dockerImageKeys {
		if got := jsonKeys(t, b.Bytes(), path); !slices.Equal(got, want) {
			t.Errorf("keys of %q:\n got %q\nwant %q", path, got, want)
		}
		for _, k := range want {
			checkTemplate(t, doc, strings.TrimPrefix(path+"."+k, "."))
		}
	}
	for _, k := range dockerOptionalImageKeys {
		checkTemplate(t, doc, k)
	}
	tmpl, _ := goTemplate(`{{.Config.Volumes}} {{json .Config.OnBuild}} {{.GraphDriver.Name}} {{json .Config.Healthcheck}} {{.Metadata.LastTagTime}}`)
	b.Reset()
	if err := printDocs(&b, tmpl, []any{doc}); err != nil {
		t.Fatal(err)
	}
	if want := `map[/data:{}] ["RUN make"] overlay2 null 0001-01-01T00:00:00Z` + "\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// An image's GraphDriver: its top layer as UpperDir, the others top
// first as LowerDir (none for one layer), as docker's overlay2.
func TestImageGraphDriver(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	one := imageGraphDriver(s, []string{l("a")})
	if len(one.Data) != 1 || one.Data["UpperDir"] != s.LayerDir(l("a")) || one.Name != "overlay2" {
		t.Errorf("one layer: %+v", one)
	}
	three := imageGraphDriver(s, []string{l("a"), l("b"), l("c")})
	if three.Data["UpperDir"] != s.LayerDir(l("c")) || three.Data["LowerDir"] != s.LayerDir(l("b"))+":"+s.LayerDir(l("a")) {
		t.Errorf("three layers: %+v", three)
	}
}
