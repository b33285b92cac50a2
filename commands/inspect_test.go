package commands

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/state"
)

func TestContainerInspect(t *testing.T) {
	g := &Globals{Paths: config.Paths{Root: "/r", RunRoot: "/rr"}}
	id := strings.Repeat("c", 64)
	started := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name string
		c    state.Container
		want map[string]string // template -> output
	}{
		{"running", state.Container{Status: state.Running, Pid: 42, StartedAt: started,
			Config: state.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"a", "b"}, Init: true, StopSignal: "SIGUSR1",
				RestartPolicy: state.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}},
			map[string]string{
				"{{.Name}} {{.State.Status}} {{.State.Running}} {{.State.Pid}}": "/x running true 42",
				"{{.Path}} {{json .Args}}":                                      `/ep ["a","b"]`,
				"{{.State.StartedAt}} {{.State.FinishedAt}}":                    "2026-01-02T03:04:05.000000006Z 0001-01-01T00:00:00Z",
				"{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Init}}": "on-failure:3 true",
				"{{.Config.StopSignal}} {{json .Config.Labels}} {{json .Mounts}}":                                         "SIGUSR1 {} []",
			}},
		{"exited, unknown code, never started", state.Container{Status: state.Exited, ExitCode: state.UnknownExit, Pid: 7},
			map[string]string{
				"{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}": "exited false 0 -1",
				"{{.Path}} {{json .Args}} {{.HostConfig.RestartPolicy.Name}}":             " [] no",
				"{{json .HostConfig.Init}} {{.LogPath}}":                                  "null /r/containers/" + id + "/" + id + "-json.log",
			}},
		{"restarting", state.Container{Status: state.Restarting, RestartCount: 2},
			map[string]string{"{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}": "true true 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.ID, c.Name, c.Image, c.ImageID = id, "x", "busybox", "sha256:"+strings.Repeat("f", 64)
			doc := toContainerInspect(g, &c)
			for format, want := range tt.want {
				tmpl, err := goTemplate(format)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := printDocs(&b, tmpl, []any{doc}); err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSuffix(b.String(), "\n"); got != want {
					t.Errorf("%s: got %q, want %q", format, got, want)
				}
			}
		})
	}
}

func TestInspectJSONKeys(t *testing.T) {
	c := state.Container{ID: strings.Repeat("d", 64), Name: "y", Status: state.Created}
	var b bytes.Buffer
	if err := printDocs(&b, nil, []any{toContainerInspect(&Globals{}, &c)}); err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	if err := json.Unmarshal(b.Bytes(), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("not a JSON array of one: %v\n%s", err, b.String())
	}
	for _, k := range []string{"Id", "Created", "Path", "Args", "State", "Image", "Name", "RestartCount", "HostConfig", "Mounts", "Config", "LogPath"} {
		if _, ok := docs[0][k]; !ok {
			t.Errorf("key %s missing", k)
		}
	}
	b.Reset()
	if err := printDocs(&b, nil, nil); err != nil || b.String() != "[]\n" {
		t.Errorf("nothing found: %q, %v; want docker's []", b.String(), err)
	}
}
