package spec

import (
	"os"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestParseSecurityOpts(t *testing.T) {
	files := map[string]string{
		"/p.json":   "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]\n}\n",
		"/bad.json": `{"defaultAction": `,
		"/typ.json": `{"defaultAction": 5}`,
		"/act.json": `{"defaultAction": "SCMP_ACT_FOO"}`,
	}
	read := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return []byte(b), nil
		}
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	}
	compact := `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`
	tests := []struct {
		name     string
		opts     []string
		want     Security
		recorded []string
		err      string
	}{
		{"none", nil, Security{}, nil, ""},
		{"unconfined", []string{"seccomp=unconfined"}, Security{Seccomp: "unconfined"}, []string{"seccomp=unconfined"}, ""},
		{"builtin is the default", []string{"seccomp=builtin"}, Security{}, []string{"seccomp=builtin"}, ""},
		{"old colon form", []string{"seccomp:unconfined"}, Security{Seccomp: "unconfined"}, []string{"seccomp:unconfined"}, ""},
		{"profile file read and compacted", []string{"seccomp=/p.json"}, Security{Seccomp: compact}, []string{"seccomp=" + compact}, ""},
		{"no-new-privileges", []string{"no-new-privileges"}, Security{NoNewPrivileges: true}, []string{"no-new-privileges"}, ""},
		{"no-new-privileges=true", []string{"no-new-privileges=true"}, Security{NoNewPrivileges: true}, []string{"no-new-privileges=true"}, ""},
		{"no-new-privileges=false", []string{"no-new-privileges=false"}, Security{}, []string{"no-new-privileges=false"}, ""},
		{"apparmor and label accepted", []string{"apparmor=unconfined", "label=disable"}, Security{}, []string{"apparmor=unconfined", "label=disable"}, ""},
		{"systempaths not recorded", []string{"systempaths=unconfined"}, Security{SystemPathsUnconfined: true}, nil, ""},
		{"no value", []string{"seccomp"}, Security{}, nil, `invalid --security-opt: "seccomp"`},
		{"empty value", []string{"seccomp="}, Security{}, nil, `invalid --security-opt: "seccomp="`},
		{"unknown key", []string{"foo=bar"}, Security{}, nil, `invalid --security-opt 2: "foo=bar"`},
		{"bad bool", []string{"no-new-privileges=maybe"}, Security{}, nil, `invalid --security-opt 2: "no-new-privileges=maybe"`},
		{"missing profile", []string{"seccomp=/nope.json"}, Security{}, nil, "opening seccomp profile (/nope.json) failed: open /nope.json: file does not exist"},
		{"profile not JSON", []string{"seccomp=/bad.json"}, Security{}, nil, "compacting json for seccomp profile (/bad.json) failed"},
		{"profile of the wrong shape", []string{"seccomp=/typ.json"}, Security{}, nil, "seccomp profile (/typ.json): decoding seccomp profile failed"},
		{"profile the compiler refuses", []string{"seccomp=/act.json"}, Security{}, nil, `seccomp profile (/act.json): defaultAction: unknown action "SCMP_ACT_FOO"`},
		{"apparmor profile", []string{"apparmor=docker-default"}, Security{}, nil, "AppArmor profiles are not supported yet"},
		{"selinux label", []string{"label=type:svirt_t"}, Security{}, nil, "SELinux labels are not supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rec, err := ParseSecurityOpts(tt.opts, read)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want one line with %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want || !slices.Equal(rec, tt.recorded) {
				t.Fatalf("got %+v %q %v, want %+v %q", got, rec, err, tt.want, tt.recorded)
			}
		})
	}
}

func TestBuildSecurity(t *testing.T) {
	build := func(sec Security) *specs.Spec {
		t.Helper()
		in := testInput()
		in.Opts.Security = sec
		sp, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	def := build(Security{}).Linux.Seccomp
	if def == nil || def.DefaultAction != specs.ActErrno || len(def.Syscalls) == 0 {
		t.Fatalf("default profile: %+v, want docker's (errno by default, an allow list)", def)
	}
	// Capability-gated rules follow the container's set: docker's set
	// lacks CAP_SYS_ADMIN, so its rules (mount, unshare, ...) are absent.
	for _, r := range def.Syscalls {
		if slices.Contains(r.Names, "mount") && r.Action == specs.ActAllow {
			t.Errorf("mount allowed without CAP_SYS_ADMIN: %+v", r)
		}
	}
	if sp := build(Security{Seccomp: SeccompUnconfined}); sp.Linux.Seccomp != nil {
		t.Errorf("unconfined: %+v, want no filter", sp.Linux.Seccomp)
	}
	custom := build(Security{Seccomp: `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}`}).Linux.Seccomp
	if custom == nil || custom.DefaultAction != specs.ActAllow || len(custom.Syscalls) != 1 {
		t.Errorf("custom: %+v", custom)
	}
	if sp := build(Security{NoNewPrivileges: true}); !sp.Process.NoNewPrivileges {
		t.Error("no-new-privileges not in the process")
	}
	if sp := build(Security{SystemPathsUnconfined: true}); len(sp.Linux.MaskedPaths)+len(sp.Linux.ReadonlyPaths) != 0 {
		t.Errorf("systempaths=unconfined kept %v %v", sp.Linux.MaskedPaths, sp.Linux.ReadonlyPaths)
	}
	in := testInput()
	in.Opts.Security.Seccomp = `{"defaultAction":5}`
	if _, err := Build(in); err == nil || !strings.Contains(err.Error(), "seccomp profile") {
		t.Errorf("a bad profile: %v, want the profile named", err)
	}
}

func testInput() Input {
	return Input{ID: strings.Repeat("a", 64), Rootfs: "/r", Image: v1.Config{Cmd: []string{"sh"}}}
}
