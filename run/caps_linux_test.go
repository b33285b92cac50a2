package run

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/spec"
)

// dockerCapMask is CapEff of root in a default docker container.
const dockerCapMask = 0x00000000a80425fb

func TestCapSetsFor(t *testing.T) {
	tests := []struct {
		name    string
		caps    *specs.LinuxCapabilities
		want    capSets
		wantErr string
	}{
		{name: "nil is docker's default", want: capSets{bounding: dockerCapMask, effective: dockerCapMask, permitted: dockerCapMask}},
		{
			name: "docker's set",
			caps: &specs.LinuxCapabilities{Bounding: spec.DefaultCaps, Effective: spec.DefaultCaps, Permitted: spec.DefaultCaps},
			want: capSets{bounding: dockerCapMask, effective: dockerCapMask, permitted: dockerCapMask},
		},
		{
			name: "short and lower-case names",
			caps: &specs.LinuxCapabilities{Bounding: []string{"chown", "SYS_ADMIN"}, Permitted: []string{"CAP_CHOWN"}},
			want: capSets{bounding: 1<<0 | 1<<21, permitted: 1 << 0},
		},
		{
			name: "permitted and effective never exceed bounding",
			caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL"}, Permitted: []string{"CAP_KILL", "CAP_SYS_ADMIN"}, Effective: []string{"CAP_SYS_ADMIN", "CAP_KILL"}},
			want: capSets{bounding: 1 << 5, permitted: 1 << 5, effective: 1 << 5},
		},
		{
			name: "ambient needs inheritable and permitted",
			caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Permitted: []string{"CAP_KILL", "CAP_CHOWN"}, Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL", "CAP_CHOWN"}},
			want: capSets{bounding: 1<<5 | 1, permitted: 1<<5 | 1, inheritable: 1 << 5, ambient: 1 << 5},
		},
		{name: "empty", caps: &specs.LinuxCapabilities{}, want: capSets{}},
		{name: "unknown", caps: &specs.LinuxCapabilities{Bounding: []string{"CAP_FLY"}}, wantErr: `unknown capability "CAP_FLY"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := capSetsFor(tt.caps)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+x, want %+x", got, tt.want)
			}
		})
	}
}
