package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/config"
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
		{name: "by id prefix", format: "{{.Config.WorkingDir}}", args: []string{shortID(img.ID)[:5]}, want: "/w"},
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
