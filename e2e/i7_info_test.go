package e2e

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// Issue 7: `info` and `version` as scripts use them to probe the engine
// (`docker info >/dev/null || echo "docker not running"`).

// i7infoAbsent asserts a probe created nothing: info and version write nothing.
func i7infoAbsent(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after a read-only command (err %v)", p, err)
		}
	}
}

func TestI7InfoFreshStore(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	r := st.must(t, "info")
	for _, want := range []string{
		"Client:\n Version:", "\nServer:\n Containers: 0\n  Running: 0\n  Paused: 0\n  Stopped: 0\n Images: 0\n",
		"\n Storage Driver: overlay2\n  Backing Filesystem: ", "\n Logging Driver: json-file\n",
		"\n Cgroup Driver: cgroupfs\n", "\n Cgroup Version: ", "\n Kernel Version: ", "\n Operating System: ",
		"\n OSType: linux\n", "\n Architecture: ", "\n CPUs: ", "\n Total Memory: ", "\n Docker Root Dir: " + st.root + "\n",
		"\n Insecure Registries:\n", "\n  127.0.0.0/8\n", "\n Live Restore Enabled: false\n",
		"\n Security Options:\n  seccomp\n   Profile: builtin\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, never := range []string{"apparmor", "selinux", "Swarm"} {
		if strings.Contains(r.stdout, never) {
			t.Errorf("info claims %q, which skiff does not have:\n%s", never, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	i7infoAbsent(t, st.root, st.runroot)
}

func TestI7InfoCounts(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	st.must(t, "pull", fx.busybox)
	st.runD(t, fx.busybox, "sleep", "300")
	stopped := uniqueName(t)
	st.must(t, "run", "--name", stopped, fx.busybox, "true")
	st.cleanup(t, stopped)

	r := st.must(t, "info", "--format", "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}")
	if r.stdout != "2 1 0 1 1\n" {
		t.Errorf("counts %q, want \"2 1 0 1 1\\n\" (containers, running, paused, stopped, images)", r.stdout)
	}
	if r := st.must(t, "info", "-f", "{{.ContainersRunning}}"); r.stdout != "1\n" {
		t.Errorf("-f '{{.ContainersRunning}}': %q", r.stdout)
	}
	r = st.must(t, "info")
	if !strings.Contains(r.stdout, " Containers: 2\n  Running: 1\n  Paused: 0\n  Stopped: 1\n Images: 1\n") {
		t.Errorf("info text counts:\n%s", r.stdout)
	}
}

func TestI7InfoJSON(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	r := st.must(t, "info", "--format", "json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--format json does not parse: %v\n%s", err, r.stdout)
	}
	for _, k := range []string{"ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped",
		"Images", "Driver", "DriverStatus", "LoggingDriver", "CgroupDriver", "CgroupVersion", "KernelVersion",
		"OperatingSystem", "OSType", "Architecture", "NCPU", "MemTotal", "DockerRootDir", "Name", "ServerVersion",
		"SecurityOptions", "RegistryConfig", "LiveRestoreEnabled", "ClientInfo"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("json lacks docker's key %q", k)
		}
	}
	if doc["Driver"] != "overlay2" || doc["DockerRootDir"] != st.root || doc["Containers"] != 0.0 || doc["OSType"] != "linux" {
		t.Errorf("json values: Driver %v, DockerRootDir %v, Containers %v, OSType %v", doc["Driver"], doc["DockerRootDir"], doc["Containers"], doc["OSType"])
	}
	server := strings.TrimSpace(st.must(t, "version", "--format", "{{.Server.Version}}").stdout)
	if doc["ServerVersion"] != server {
		t.Errorf("info ServerVersion %v, version says %q", doc["ServerVersion"], server)
	}
	if r := st.must(t, "system", "info", "-f", "{{.Driver}} {{.OSType}}"); r.stdout != "overlay2 linux\n" {
		t.Errorf("system info -f: %q", r.stdout)
	}
}

func TestI7Version(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	long := strings.TrimSpace(st.must(t, "--version").stdout) // "skiff version X"
	v := strings.TrimSpace(st.must(t, "version", "--format", "{{.Server.Version}}").stdout)
	if v == "" || long != "skiff version "+v {
		t.Errorf("version -f '{{.Server.Version}}' = %q, --version says %q", v, long)
	}
	r := st.must(t, "version")
	for _, want := range []string{"Client:\n Version:           " + v + "\n API version:       ", "\n Go version:        go",
		"\n Git commit:        ", "\n Built:             ", "\n OS/Arch:           linux/", "\n Context:           default\n",
		"\n\nServer: skiff\n Engine:\n  Version:          " + v + "\n", " (minimum version ", "\n  Experimental:     false\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("version lacks %q:\n%s", want, r.stdout)
		}
	}
	var doc struct {
		Client struct{ Version, ApiVersion, Os string }
		Server struct {
			Version, ApiVersion, MinAPIVersion string
			Components                         []struct{ Name string }
		}
	}
	r = st.must(t, "version", "-f", "json")
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("version --format json: %v\n%s", err, r.stdout)
	}
	if doc.Client.Version != v || doc.Server.Version != v || doc.Client.ApiVersion == "" ||
		doc.Server.MinAPIVersion == "" || len(doc.Server.Components) != 1 || doc.Server.Components[0].Name != "Engine" {
		t.Errorf("version json: %+v", doc)
	}
	i7infoAbsent(t, st.root, st.runroot)
}

// A --root that does not exist (a fresh machine): both work and create nothing.
func TestI7InfoVersionMissingRoot(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	st.root = st.root + "/missing/deeper"
	if r := st.must(t, "version", "-f", "{{.Client.Version}}"); strings.TrimSpace(r.stdout) == "" {
		t.Errorf("version on a missing root: %v", r)
	}
	if r := st.must(t, "info", "-f", "{{.Containers}} {{.Images}} {{.DockerRootDir}}"); r.stdout != "0 0 "+st.root+"\n" {
		t.Errorf("info on a missing root: %v", r)
	}
	i7infoAbsent(t, st.root, st.runroot)
}

// Template errors as docker's CLI reports them: a field that does not exist
// fails when the template runs (exit 1, Go's message); one that does not
// parse is "template parsing error" (exit 64).
func TestI7InfoBadTemplate(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"info", "--format", "{{.NoSuchField}}"}, 1, "can't evaluate field NoSuchField"},
		{[]string{"version", "--format", "{{.Server.NoSuchField}}"}, 1, "can't evaluate field NoSuchField"},
		{[]string{"info", "-f", "{{.Containers"}, 64, "skiff: template parsing error: template: "},
		{[]string{"version", "-f", "{{.Server"}, 64, "skiff: template parsing error: template: "},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := st.skiff(nil, tt.args...)
			oneLineError(t, r, tt.code)
			if !strings.HasPrefix(r.stderr, "skiff: ") || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q, want %q", r.stderr, tt.want)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q, want nothing", r.stdout)
			}
		})
	}
}
