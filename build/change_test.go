package build

import (
	"reflect"
	"testing"

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
		{change: `ENTRYPOINT ["/bin/top", "-b"]`, want: func(c *v1.Config) { c.Entrypoint = []string{"/bin/top", "-b"} }},
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
		{change: `ONBUILD`, bad: true},
		{change: `ONBUILD ONBUILD RUN x`, bad: true},
		{change: `ONBUILD FROM busybox`, bad: true},
		{change: `ONBUILD BOGUS x`, bad: true},
		{change: `RUN rm -rf /`, bad: true},
		{change: `FROM busybox`, bad: true},
		{change: `ENV`, bad: true},
		{change: `ENV A="unterminated`, bad: true},
		{change: `LABEL novalue`, bad: true},
		{change: `EXPOSE http`, bad: true},
		{change: `USER a b`, bad: true},
		{change: `VOLUME ["/a"`, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.change, func(t *testing.T) {
			got := base()
			err := applyChange(&got, tt.change)
			if tt.bad {
				if err == nil {
					t.Fatalf("accepted: %+v", got)
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
