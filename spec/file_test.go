package spec

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// WithProcessEnv changes process.env only: every other field of the
// config comes through as it was.
func TestWithProcessEnv(t *testing.T) {
	in := &specs.Spec{
		Version:  "1.0.2",
		Hostname: "h",
		Process:  &specs.Process{Args: []string{"sh"}, Env: []string{"PATH=/bin", "A=1"}, Cwd: "/"},
		Linux:    &specs.Linux{Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}},
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := WithProcessEnv(raw, func(env []string) []string { return append(env, "B=2") })
	if err != nil {
		t.Fatal(err)
	}
	var got specs.Spec
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := *in
	p := *in.Process
	p.Env = []string{"PATH=/bin", "A=1", "B=2"}
	want.Process = &p
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config after WithProcessEnv (-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{`, `{"version":"1"}`, `{"process":{"env":3}}`} {
		if _, err := WithProcessEnv([]byte(bad), func(e []string) []string { return e }); err == nil {
			t.Errorf("WithProcessEnv(%s) took a corrupt config", bad)
		}
	}
}
