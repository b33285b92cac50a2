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
		{[]string{"bogus=x"}, "", "invalid filter 'bogus'"},
		// No container here mounts /data; what skiff has no notion of yet
		// matches nothing, or everything where docker's zero value does: no
		// health check is health none, network mode none is the "none" network.
		{[]string{"volume=/data"}, "", ""},
		{[]string{"health=none"}, "web db web2", ""},
		{[]string{"health=healthy"}, "", ""},
		{[]string{"health=healthy", "health=none"}, "web db web2", ""},
		{[]string{"health=ok"}, "", "invalid filter 'health=ok': invalid value for health (ok): must be one of none, starting, healthy, unhealthy"},
		{[]string{"network=none"}, "web db web2", ""},
		{[]string{"network=bridge"}, "", ""},
		{[]string{"publish=80"}, "", ""},
		{[]string{"expose=8000-8080/tcp"}, "", ""},
		{[]string{"publish=8080:80"}, "", "filter for 'publish' should not contain ':': 8080:80"},
		{[]string{"expose=http"}, "", "error while looking up for expose http: invalid port range"},
		{[]string{"is-task=false"}, "web db web2", ""},
		{[]string{"is-task=true"}, "", ""},
		{[]string{"exited=x"}, "", `invalid filter 'exited=x': strconv.Atoi: parsing "x": invalid syntax`},
		{[]string{"before=db", "since=web"}, "web db web2", ""}, // cut by window, not by match
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

func TestPsWindow(t *testing.T) {
	var all []*state.Container // newest first, as state.List
	for _, n := range []string{"e", "d", "c", "b", "a"} {
		all = append(all, &state.Container{ID: strings.Repeat(n, 63) + "0", Name: "n" + n})
	}
	all = append(all, &state.Container{ID: strings.Repeat("a", 63) + "1", Name: "twin"})
	tests := []struct {
		filters []string
		want    string
		err     string
	}{
		{nil, "ne nd nc nb na twin", ""},
		{[]string{"before=nc"}, "nb na twin", ""},
		{[]string{"before=/nc"}, "nb na twin", ""},
		{[]string{"since=nc"}, "ne nd", ""},
		{[]string{"since=" + strings.Repeat("c", 63) + "0"}, "ne nd", ""},
		{[]string{"since=cccc"}, "ne nd", ""},
		{[]string{"before=ne", "since=nb"}, "nd nc", ""},
		{[]string{"before=nb", "since=nd"}, "na twin", ""},  // docker's walk never meets nd after nb
		{[]string{"before=nd", "before=nb"}, "na twin", ""}, // the last one wins
		{[]string{"since=na"}, "ne nd nc nb", ""},
		{[]string{"before=twin"}, "", ""},
		{[]string{"before=nope"}, "", "Error response from daemon: No such container: nope"},
		{[]string{"since=aaa"}, "", "Error response from daemon: multiple IDs found with provided prefix: aaa"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.filters, ","), func(t *testing.T) {
			f, err := parsePsFilters(tt.filters)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.window(all)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range got {
				names = append(names, c.Name)
			}
			if strings.Join(names, " ") != tt.want {
				t.Fatalf("got %q, want %q", strings.Join(names, " "), tt.want)
			}
		})
	}
}
