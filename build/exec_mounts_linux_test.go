package build

import (
	"strings"
	"testing"
)

// Parse refuses a mount type skiff does not make with its line, leaves a
// field that needs its variable to the step, and keeps a stage a RUN
// --mount from= names.
func TestParseRunMounts(t *testing.T) {
	for _, tt := range []struct {
		name, dockerfile, err string
		stages                int
	}{
		{"ssh", "FROM busybox\nRUN true\nRUN --mount=type=ssh true\n", "Dockerfile:3: RUN --mount=type=ssh is not supported yet", 0},
		{"variable field", "FROM busybox\nARG UID=5\nRUN --mount=type=cache,target=/c,uid=$UID true\n", "", 1},
		{"from a stage", "FROM busybox AS a\nFROM busybox AS b\nFROM busybox\nRUN --mount=type=bind,from=a,target=/a true\n", "", 2},
		{"from the current stage", "FROM busybox\nFROM busybox\nRUN --mount=type=bind,from=1,target=/a true\n", "Dockerfile:3: invalid from flag value 1: refers to current or later build stage", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.dockerfile), "Dockerfile", ParseOptions{})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Stages) != tt.stages {
				t.Errorf("%d stages built, want %d", len(p.Stages), tt.stages)
			}
		})
	}
}
