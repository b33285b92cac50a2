package build

import (
	"reflect"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestApplyChange(t *testing.T) {
	base := func() v1.Config {
		return v1.Config{Env: []string{"PATH=/bin", "A=1"}, WorkingDir: "/srv", Cmd: []string{"sh"}}
	}
	tests := []struct {
		change string
		want   func(*v1.Config)
		bad    bool
	}{
		{change: `CMD ["echo", "hi there"]`, want: func(c *v1.Config) { c.Cmd = []string{"echo", "hi there"} }},
		{change: `cmd echo $HOME`, want: func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "echo $HOME"} }},
		// As docker: an ENTRYPOINT not given with a CMD drops the old CMD.
		{change: `ENTRYPOINT ["/bin/top", "-b"]`, want: func(c *v1.Config) { c.Entrypoint = []string{"/bin/top", "-b"}; c.Cmd = nil }},
		{change: `ENV A=2 B="x y"`, want: func(c *v1.Config) { c.Env = []string{"PATH=/bin", "A=2", "B=x y"} }},
		{change: `ENV LEGACY a b  c`, want: func(c *v1.Config) { c.Env = append(c.Env, "LEGACY=a b  c") }},
		{change: `LABEL org.x=1 "y z"=two`, want: func(c *v1.Config) { c.Labels = map[string]string{"org.x": "1", "y z": "two"} }},
		{change: `WORKDIR app`, want: func(c *v1.Config) { c.WorkingDir = "/srv/app" }},
		{change: `WORKDIR /x/../y`, want: func(c *v1.Config) { c.WorkingDir = "/y" }},
		{change: `USER 1000:1000`, want: func(c *v1.Config) { c.User = "1000:1000" }},
		{change: `STOPSIGNAL SIGINT`, want: func(c *v1.Config) { c.StopSignal = "SIGINT" }},
		{change: `EXPOSE 80 53/udp`, want: func(c *v1.Config) {
			c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "53/udp": {}}
		}},
		{change: `VOLUME ["/data", "/logs"]`, want: func(c *v1.Config) {
			c.Volumes = map[string]struct{}{"/data": {}, "/logs": {}}
		}},
		{change: `VOLUME /a /b`, want: func(c *v1.Config) { c.Volumes = map[string]struct{}{"/a": {}, "/b": {}} }},
		{change: `ONBUILD RUN echo "built on me"`, want: func(c *v1.Config) { c.OnBuild = []string{`RUN echo "built on me"`} }},
		{change: `onbuild copy . /app`, want: func(c *v1.Config) { c.OnBuild = []string{"copy . /app"} }},
		// Cases added with BuildKit's parser: expansion, docker's forms.
		{change: `ENV B=$A-${A}0 C=\$A`, want: func(c *v1.Config) { c.Env = append(c.Env, "B=1-10", "C=$A") }},
		{change: `WORKDIR $A/${NOPE:-d}`, want: func(c *v1.Config) { c.WorkingDir = "/srv/1/d" }},
		{change: `LABEL "v"="${A}"`, want: func(c *v1.Config) { c.Labels = map[string]string{"v": "1"} }},
		{change: `CMD [not json`, want: func(c *v1.Config) { c.Cmd = []string{"/bin/sh", "-c", "[not json"} }},
		{change: `ENTRYPOINT top -b`, want: func(c *v1.Config) { c.Entrypoint = []string{"/bin/sh", "-c", "top -b"}; c.Cmd = nil }},
		{change: `EXPOSE 8000-8002/UDP 9/sctp`, want: func(c *v1.Config) {
			c.ExposedPorts = map[string]struct{}{"8000/udp": {}, "8001/udp": {}, "8002/udp": {}, "9/sctp": {}}
		}},
		{change: `STOPSIGNAL 9`, want: func(c *v1.Config) { c.StopSignal = "9" }},
		{change: `STOPSIGNAL rtmin+3`, want: func(c *v1.Config) { c.StopSignal = "rtmin+3" }},
		{change: `HEALTHCHECK --interval=5s --retries=3 CMD curl -f localhost`, want: func(c *v1.Config) {
			c.Healthcheck = &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f localhost"}, Interval: 5 * time.Second, Retries: 3}
		}},
		{change: `HEALTHCHECK NONE`, want: func(c *v1.Config) { c.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} }},
		{change: `ONBUILD`, bad: true},
		{change: `ONBUILD ONBUILD RUN x`, bad: true},
		{change: `ONBUILD FROM busybox`, bad: true},
		{change: `ONBUILD BOGUS x`, bad: true},
		{change: `RUN rm -rf /`, bad: true},
		{change: `FROM busybox`, bad: true},
		{change: `SHELL ["/bin/bash", "-c"]`, bad: true},
		{change: `ENV`, bad: true},
		{change: `ENV A="unterminated`, bad: true},
		{change: `LABEL novalue`, bad: true},
		{change: `EXPOSE http`, bad: true},
		{change: `EXPOSE 80/icmp`, bad: true},
		{change: `EXPOSE 90-80`, bad: true},
		{change: `USER a b`, bad: true},
		{change: `VOLUME ["/a"`, bad: true},
		{change: `STOPSIGNAL SIGNOPE`, bad: true},
		{change: `WORKDIR`, bad: true},
		{change: `HEALTHCHECK CMD`, bad: true},
		{change: `ENTRYPOINT --bogus=1 x`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			got := base()
			err := ApplyChanges(&got, []string{tt.change})
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := base()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestBfrontApplyChangesInOrder(t *testing.T) {
	tests := []struct {
		changes []string
		want    v1.Config
	}{
		{[]string{"CMD x", "ENTRYPOINT [\"e\"]"}, v1.Config{Cmd: []string{"/bin/sh", "-c", "x"}, Entrypoint: []string{"e"}}},
		{[]string{"ENTRYPOINT [\"e\"]", "CMD [\"c\"]"}, v1.Config{Cmd: []string{"c"}, Entrypoint: []string{"e"}}},
		{[]string{"ENV A=1", "ENV B=$A"}, v1.Config{Cmd: []string{"old"}, Env: []string{"A=1", "B=1"}}},
		{[]string{"WORKDIR /a", "WORKDIR b"}, v1.Config{Cmd: []string{"old"}, WorkingDir: "/a/b"}},
	}
	for _, tt := range tests {
		got := v1.Config{Cmd: []string{"old"}}
		if err := ApplyChanges(&got, tt.changes); err != nil {
			t.Fatalf("%q: %v", tt.changes, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tt.changes, got, tt.want)
		}
	}
}

func TestBfrontChangeErrors(t *testing.T) {
	for change, want := range map[string]string{
		"RUN echo hi":   "RUN is not a valid change command",
		"nosuch x":      "nosuch is not a valid change command",
		"EXPOSE http":   "invalid containerPort: http",
		"STOPSIGNAL XX": "Invalid signal: XX",
		"ENV":           "ENV requires at least one argument",
	} {
		err := ApplyChanges(&v1.Config{}, []string{change})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", change, err, want)
		}
	}
}

// A build's steps apply SHELL through the same editor: it shapes later
// shell-form CMDs.
func TestBfrontConfigEditorShell(t *testing.T) {
	p, err := Parse([]byte("FROM x\nSHELL [\"/bin/bash\", \"-xc\"]\nCMD echo hi\n"), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := v1.Config{}
	ed := ConfigEditor{Config: &cfg}
	for _, st := range p.Stages[0].Steps[1:] {
		if err := ed.Apply(st.Cmd); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"/bin/bash", "-xc", "echo hi"}; !reflect.DeepEqual(cfg.Cmd, want) {
		t.Errorf("Cmd = %q, want %q", cfg.Cmd, want)
	}
	if err := ed.Apply(p.Stages[0].Steps[0].Cmd); err == nil {
		t.Error("FROM applied to a config")
	}
}
