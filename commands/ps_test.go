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
			if err := printPs(&b, []*state.Container{&c}, now, false); err != nil {
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
