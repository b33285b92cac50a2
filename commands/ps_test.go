package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/state"
)

func TestPsColumns(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	id := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		c    state.Container
		want []string
	}{
		{"running", state.Container{Status: state.Running, StartedAt: now.Add(-3 * time.Second), Config: state.Config{Cmd: []string{"sleep", "100"}}},
			[]string{"Up 3 seconds", `"sleep 100"`}},
		{"exited", state.Container{Status: state.Exited, ExitCode: 2, FinishedAt: now.Add(-2 * time.Minute), Config: state.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"a"}}},
			[]string{"Exited (2) 2 minutes ago", `"/ep a"`}},
		{"created, long command", state.Container{Status: state.Created, Config: state.Config{Cmd: []string{"sh", "-c", "echo 0123456789abcdef"}}},
			[]string{"Created", `"sh -c echo 01234567…"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.ID, c.Name, c.Image, c.Created = id, "n1", "busybox", now.Add(-time.Hour)
			var b bytes.Buffer
			if err := printPs(&b, "", []*state.Container{&c}, now, false, nil); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "CONTAINER ID   IMAGE") {
				t.Fatalf("table:\n%s", b.String())
			}
			for _, w := range append(tt.want, id[:12]+"   busybox", "About an hour ago", "n1") {
				if !strings.Contains(lines[1], w) {
					t.Errorf("row %q lacks %q", lines[1], w)
				}
			}
		})
	}
}

func TestPsFormatAndFilters(t *testing.T) {
	now := time.Now()
	mk := func(id, name string, st state.Status, code int) *state.Container {
		return &state.Container{ID: strings.Repeat(id, 64), Name: name, Image: "busybox", ImageID: "sha256:" + strings.Repeat("f", 64),
			Status: st, ExitCode: code, Created: now, StartedAt: now, FinishedAt: now}
	}
	cs := []*state.Container{mk("a", "web", state.Running, 0), mk("b", "db", state.Exited, 3), mk("c", "web2", state.Created, 0)}
	cs[0].Config.Labels = map[string]string{"tier": "front", "env": "prod"}
	cs[1].Config.Labels = map[string]string{"tier": "back"}
	tests := []struct {
		filters []string
		want    string
		err     string
	}{
		{nil, "web db web2", ""},
		{[]string{"name=web"}, "web web2", ""},
		{[]string{"name=^web$"}, "web", ""},
		{[]string{"status=exited"}, "db", ""},
		{[]string{"status=exited", "status=created"}, "db web2", ""},
		{[]string{"name=web", "status=created"}, "web2", ""},
		{[]string{"exited=3"}, "db", ""},
		{[]string{"id=bbb"}, "db", ""},
		{[]string{"ancestor=busybox"}, "web db web2", ""},
		{[]string{"ancestor=ffff"}, "web db web2", ""},
		{[]string{"ancestor=alpine"}, "", ""},
		{[]string{"label=tier"}, "web db", ""},
		{[]string{"label=tier=back"}, "db", ""},
		{[]string{"label=tier=back", "label=env"}, "web db", ""},
		{[]string{"label=tier=side"}, "", ""},
		{[]string{"label=tier", "status=running"}, "web", ""},
		{[]string{"volume=x"}, "", "invalid filter 'volume'"},
		{[]string{"status=dead"}, "", ""},
		{[]string{"status=up"}, "", "invalid filter 'status=up': want created, restarting, running, removing, paused, exited or dead"},
		{[]string{"name"}, "", "bad format of filter (expected name=value): name"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.filters, ","), func(t *testing.T) {
			f, err := parsePsFilters(tt.filters)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var shown []*state.Container
			for _, c := range cs {
				if f.match(c) {
					shown = append(shown, c)
				}
			}
			var b bytes.Buffer
			if err := printPs(&b, "{{.Names}}", shown, now, false, nil); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(strings.Fields(b.String()), " "); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	var b bytes.Buffer
	if err := printPs(&b, "{{.ID}} {{.State}} {{.Status}}", cs[1:2], now, true, nil); err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("b", 64) + " exited Exited (3) Less than a second ago\n"; b.String() != want {
		t.Fatalf("format: got %q, want %q", b.String(), want)
	}
	b.Reset()
	sizes := map[string]string{cs[0].ID: "0B (virtual 1.98MB)"}
	if err := printPs(&b, `{{.Labels}}|{{.Label "tier"}}|{{.Size}}`, cs[:1], now, false, sizes); err != nil {
		t.Fatal(err)
	}
	if want := "env=prod,tier=front|front|0B (virtual 1.98MB)\n"; b.String() != want {
		t.Fatalf("labels and size: got %q, want %q", b.String(), want)
	}
}

func TestPsStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		c    state.Container
		want string
	}{
		{"up just now", state.Container{Status: state.Running, StartedAt: now.Add(-300 * time.Millisecond)}, "Up Less than a second"},
		{"up", state.Container{Status: state.Running, StartedAt: now.Add(-3 * time.Second)}, "Up 3 seconds"},
		{"killed", state.Container{Status: state.Exited, ExitCode: 137, FinishedAt: now.Add(-2 * time.Minute)}, "Exited (137) 2 minutes ago"},
		{"unknown exit", state.Container{Status: state.Exited, ExitCode: state.UnknownExit, FinishedAt: now.Add(-time.Second)}, "Exited (-1) 1 second ago"},
		{"created", state.Container{Status: state.Created}, "Created"},
		{"restarting", state.Container{Status: state.Restarting, ExitCode: 1, FinishedAt: now.Add(-2 * time.Second)}, "Restarting (1) 2 seconds ago"},
		{"paused", state.Container{Status: state.Paused, StartedAt: now.Add(-time.Hour)}, "Up About an hour (Paused)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := status(&tt.c, now); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
