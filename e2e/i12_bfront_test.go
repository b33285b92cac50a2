package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// commit -c on BuildKit's parser (issue 12): the instructions and forms
// a Dockerfile has, expanded with the image's environment, land in the
// image's config as docker's; what docker refuses is refused.
func TestI12BfrontCommitChanges(t *testing.T) {
	s := shared(t)
	id := s.create(t, fx.busybox, "true")
	tests := []struct {
		name    string
		changes []string
		format  string
		want    string // a substring of inspect's output
	}{
		{"HEALTHCHECK", []string{"HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost"},
			"{{json .Config.Healthcheck}}", `{"Test":["CMD-SHELL","wget -q localhost"],"Interval":5000000000,"Retries":2}`},
		{"EXPOSE range", []string{"EXPOSE 8000-8001/udp"}, "{{json .Config.ExposedPorts}}", `{"8000/udp":{},"8001/udp":{}}`},
		{"ENV expanded with the config's environment", []string{"ENV A=1", "ENV B=${A}2 C=$PATH:/opt"},
			"{{json .Config.Env}}", `"A=1","B=12","C=/usr/local/sbin:`},
		{"WORKDIR expanded", []string{"ENV D=/srv", "WORKDIR $D/app"}, "{{.Config.WorkingDir}}", "/srv/app"},
		{"ENTRYPOINT after CMD keeps it", []string{"CMD [\"-l\"]", "ENTRYPOINT [\"ls\"]"},
			"{{json .Config.Entrypoint}} {{json .Config.Cmd}}", `["ls"] ["-l"]`},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := fmt.Sprintf("i12bfront/commit:%d-%s", i, short(id))
			args := []string{"commit"}
			for _, c := range tt.changes {
				args = append(args, "-c", c)
			}
			r := s.skiff(nil, append(args, id, repo)...)
			if r.code != 0 {
				t.Fatalf("commit %q: %v", tt.changes, r)
			}
			t.Cleanup(func() { s.skiff(nil, "rmi", repo) })
			got := s.must(t, "image", "inspect", "-f", tt.format, repo).stdout
			if !strings.Contains(got, tt.want) {
				t.Errorf("inspect %s = %q, want it to contain %q", tt.format, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"STOPSIGNAL SIGNOPE", "EXPOSE 80/icmp", "HEALTHCHECK CMD", "SHELL [\"/bin/bash\"]"} {
		t.Run("refused "+bad, func(t *testing.T) {
			r := s.skiff(nil, "commit", "-c", bad, id, "i12bfront/refused:"+short(id))
			if r.code == 0 {
				s.skiff(nil, "rmi", "i12bfront/refused:"+short(id))
				t.Fatalf("commit -c %q succeeded; docker refuses it", bad)
			}
			oneLineError(t, r, 1)
		})
	}
}
