package build

import (
	"io/fs"
	"runtime"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// bexecCmd is the typed, expanded instruction of one Dockerfile line.
func bexecCmd(t *testing.T, line string, env []string) instructions.Command {
	t.Helper()
	p, err := Parse([]byte("FROM scratch\n"+line+"\n"), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatalf("parse %q: %v", line, err)
	}
	cmd := p.Stages[0].Steps[1].Cmd
	if err := Expand(cmd, env, '\\'); err != nil {
		t.Fatalf("expand %q: %v", line, err)
	}
	return cmd
}

func TestExecApplyInstruction(t *testing.T) {
	base := v1.Config{Cmd: []string{"base-cmd"}, WorkingDir: "/srv", Env: []string{"PATH=/bin"}}
	tests := []struct {
		line   string
		cmdSet bool
		want   func(c *v1.Config)
	}{
		{"ENV A=1 B=\"two words\"", false, func(c *v1.Config) { c.Env = []string{"PATH=/bin", "A=1", "B=two words"} }},
		{"ENV PATH=/usr/bin:$PATH", false, func(c *v1.Config) { c.Env = []string{"PATH=/usr/bin:/bin"} }},
		{"LABEL a=b \"c d\"=e", false, func(c *v1.Config) { c.Labels = map[string]string{"a": "b", "c d": "e"} }},
		{"EXPOSE 80 53/UDP", false, func(c *v1.Config) { c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}} }},
		{"USER nobody:nogroup", false, func(c *v1.Config) { c.User = "nobody:nogroup" }},
		{"WORKDIR app", false, func(c *v1.Config) { c.WorkingDir = "/srv/app" }},
		{"WORKDIR /abs/../x", false, func(c *v1.Config) { c.WorkingDir = "/x" }},
		{"ENTRYPOINT [\"/e\"]", false, func(c *v1.Config) { c.Entrypoint, c.Cmd = []string{"/e"}, nil }},
		{"ENTRYPOINT [\"/e\"]", true, func(c *v1.Config) { c.Entrypoint = []string{"/e"} }},
		{"ENTRYPOINT run it", false, func(c *v1.Config) { c.Entrypoint, c.Cmd = []string{"/bin/sh", "-c", "run it"}, nil }},
		{"CMD echo $HOME", false, func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "echo $HOME"} }},
		{"CMD [\"a\", \"b\"]", false, func(c *v1.Config) { c.Cmd = []string{"a", "b"} }},
		{"VOLUME /a /b", false, func(c *v1.Config) { c.Volumes = map[string]struct{}{"/a": {}, "/b": {}} }},
		{"SHELL [\"/bin/bash\", \"-xc\"]", false, func(c *v1.Config) { c.Shell = []string{"/bin/bash", "-xc"} }},
		{"STOPSIGNAL SIGUSR1", false, func(c *v1.Config) { c.StopSignal = "SIGUSR1" }},
		{"HEALTHCHECK --retries=2 CMD [\"true\"]", false, func(c *v1.Config) {
			c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "true"}, Retries: 2}
		}},
		{"HEALTHCHECK NONE", false, func(c *v1.Config) { c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} }},
		{"ARG X=1", false, func(c *v1.Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cfg := v1.ConfigFile{Config: base}
			cfg.Config.Env = slices.Clone(base.Env)
			var ed ConfigEditor
			if tt.cmdSet {
				if err := applyInstruction(&ed, &cfg, bexecCmd(t, `CMD ["base-cmd"]`, nil)); err != nil {
					t.Fatal(err)
				}
			}
			if err := applyInstruction(&ed, &cfg, bexecCmd(t, tt.line, cfg.Config.Env)); err != nil {
				t.Fatal(err)
			}
			want := base
			want.Env = slices.Clone(base.Env)
			tt.want(&want)
			if d := cmp.Diff(want, cfg.Config); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestExecRunArgv(t *testing.T) {
	tests := []struct {
		name, line string
		shell      []string
		want       []string
	}{
		{"shell form", "RUN echo hi", nil, []string{"/bin/sh", "-c", "echo hi"}},
		{"exec form", `RUN ["echo", "hi"]`, nil, []string{"echo", "hi"}},
		{"SHELL", "RUN echo hi", []string{"/bin/bash", "-c"}, []string{"/bin/bash", "-c", "echo hi"}},
		{"heredoc", "RUN <<EOF\necho one\necho two\nEOF", nil, []string{"/bin/sh", "-c", "echo one\necho two\n"}},
		{"heredoc with a shebang", "RUN <<EOF\n#!/bin/busybox sh\necho hi\nEOF", nil, []string{"/bin/sh", "-c",
			"mkdir -p /dev/pipes && cat > /dev/pipes/EOF <<'SKIFF_HEREDOC_END'\n#!/bin/busybox sh\necho hi\nSKIFF_HEREDOC_END\nchmod 755 /dev/pipes/EOF && exec /dev/pipes/EOF"}},
		{"heredoc in a command", "RUN cat <<EOF > /f\nbody\nEOF", nil, []string{"/bin/sh", "-c", "cat <<EOF > /f\nbody\nEOF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runArgv(tt.shell, bexecCmd(t, tt.line, nil).(*instructions.RunCommand))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestExecCacheKeyParts(t *testing.T) {
	if cacheKey("ab", "c") == cacheKey("a", "bc") {
		t.Error("parts run together: different steps share a key")
	}
	if cacheKey("p", "RUN x") != cacheKey("p", "RUN x") {
		t.Error("the same step has two keys")
	}
}

func TestExecTopItems(t *testing.T) {
	fsys := fstest.MapFS{"f": {}, "d": {Mode: fs.ModeDir}, "d/x": {}, "d/s": {Mode: fs.ModeDir}, "d/s/y": {}}
	info := func(p string) fs.FileInfo { fi, _ := fs.Stat(fsys, p); return fi }
	found := []Source{
		{Rel: "f", Root: "f", Info: info("f")},
		{Rel: "d", Root: "d", Info: info("d")},
		{Rel: "d/s", Root: "d", Info: info("d/s")},
		{Rel: "d/s/y", Root: "d", Info: info("d/s/y")},
		{Rel: "d/x", Root: "d", Info: info("d/x")},
	}
	items := topItems(found)
	if len(items) != 2 || items[0].name != "f" || items[0].dir || items[1].name != "d" || !items[1].dir || len(items[1].kids) != 3 {
		t.Errorf("items = %+v", items)
	}
}

func TestExecSamePlatform(t *testing.T) {
	for p, want := range map[string]bool{
		"linux/" + runtime.GOARCH: true, "LINUX/" + runtime.GOARCH: true, "linux": true,
		"windows/amd64": false, "linux/s390x": runtime.GOARCH == "s390x",
	} {
		if got := samePlatform(p); got != want {
			t.Errorf("samePlatform(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestExecUnshadowed(t *testing.T) {
	got := unshadowed([]string{"A=arg", "B=arg", "HTTP_PROXY=p"}, []string{"PATH=/bin", "A=env"})
	if d := cmp.Diff([]string{"B=arg", "HTTP_PROXY=p"}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}
