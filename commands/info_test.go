package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

func TestCgroupVersionOf(t *testing.T) {
	v1 := cgroup.Hierarchy{Mount: "/sys/fs/cgroup/memory"}
	v2 := cgroup.Hierarchy{Mount: "/sys/fs/cgroup", V2: true}
	unified := cgroup.Hierarchy{Mount: "/sys/fs/cgroup/unified", V2: true}
	tests := []struct {
		name string
		hs   []cgroup.Hierarchy
		want string
	}{
		{"unified only", []cgroup.Hierarchy{v2}, "2"},
		{"v1 only", []cgroup.Hierarchy{v1}, "1"},
		{"hybrid", []cgroup.Hierarchy{unified, v1}, "1"},
		{"none mounted", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cgroupVersionOf(tt.hs); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCgroupDriver(t *testing.T) {
	tests := []struct {
		rootless bool
		version  string
		want     string
	}{
		{false, "1", "cgroupfs"}, {false, "2", "cgroupfs"}, {true, "2", "none"}, {false, "", "none"},
	}
	for _, tt := range tests {
		if got := cgroupDriver(tt.rootless, tt.version); got != tt.want {
			t.Errorf("cgroupDriver(%v, %q) = %q, want %q", tt.rootless, tt.version, got, tt.want)
		}
	}
}

func TestParseOSRelease(t *testing.T) {
	tests := []struct {
		in, pretty, version string
	}{
		{"NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n", "Debian GNU/Linux 12 (bookworm)", "12"},
		{"PRETTY_NAME='Alpine Linux v3.19'\nVERSION_ID=3.19.1\n", "Alpine Linux v3.19", "3.19.1"},
		{"# comment\n\nID=arch\n", "", ""},
	}
	for _, tt := range tests {
		p, v := parseOSRelease(strings.NewReader(tt.in))
		if p != tt.pretty || v != tt.version {
			t.Errorf("parseOSRelease(%q) = %q, %q; want %q, %q", tt.in, p, v, tt.pretty, tt.version)
		}
	}
}

func TestNewRegistryConfig(t *testing.T) {
	tests := []struct {
		name      string
		insecure  []string
		wantCIDRs []string
		wantNames []string
	}{
		{"loopback always", nil, []string{"::1/128", "127.0.0.0/8"}, nil},
		{"cidr and name", []string{"10.1.2.0/24", "reg.local:5000"}, []string{"10.1.2.0/24", "::1/128", "127.0.0.0/8"}, []string{"reg.local:5000"}},
		{"scheme dropped, duplicates once", []string{"http://reg:5000", "reg:5000", "127.0.0.0/8"}, []string{"127.0.0.0/8", "::1/128"}, []string{"reg:5000"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newRegistryConfig(tt.insecure)
			if !reflect.DeepEqual(rc.InsecureRegistryCIDRs, tt.wantCIDRs) {
				t.Errorf("CIDRs %v, want %v", rc.InsecureRegistryCIDRs, tt.wantCIDRs)
			}
			var names []string
			for n, ic := range rc.IndexConfigs {
				if !ic.Secure {
					names = append(names, n)
				}
			}
			if !reflect.DeepEqual(names, tt.wantNames) {
				t.Errorf("insecure names %v, want %v", names, tt.wantNames)
			}
			if hub := rc.IndexConfigs["docker.io"]; !hub.Secure || !hub.Official {
				t.Errorf("docker.io must stay secure and official: %+v", hub)
			}
		})
	}
}

func TestCountContainers(t *testing.T) {
	var d infoDoc
	countContainers(&d, []*state.Container{
		{Status: state.Running}, {Status: state.Running}, {Status: state.Paused},
		{Status: state.Created}, {Status: state.Exited}, {Status: state.Restarting},
	})
	if d.Containers != 6 || d.ContainersRunning != 2 || d.ContainersPaused != 1 || d.ContainersStopped != 3 {
		t.Errorf("got %d total, %d running, %d paused, %d stopped; want 6, 2, 1, 3",
			d.Containers, d.ContainersRunning, d.ContainersPaused, d.ContainersStopped)
	}
}

func TestSecurityOptions(t *testing.T) {
	if got := securityOptions(false); !reflect.DeepEqual(got, []string{"name=seccomp,profile=builtin"}) {
		t.Errorf("as root: %v, want docker's seccomp profile only (no AppArmor or SELinux)", got)
	}
	if got := securityOptions(true); !reflect.DeepEqual(got, []string{"name=seccomp,profile=builtin", "name=rootless"}) {
		t.Errorf("rootless: %v", got)
	}
}

func TestProxyEnvMasksPassword(t *testing.T) {
	tests := []struct{ set, want string }{
		{"http://user:secret@proxy:3128", "http://user:xxxxx@proxy:3128"},
		{"http://proxy:3128", "http://proxy:3128"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Setenv("HTTPS_PROXY", tt.set)
		t.Setenv("https_proxy", "")
		if got := proxyEnv("HTTPS_PROXY"); got != tt.want {
			t.Errorf("proxyEnv with %q = %q, want %q", tt.set, got, tt.want)
		}
	}
}

func testInfoDoc(rootless bool) infoDoc {
	return infoDoc{
		ID: "0c1d", Containers: 3, ContainersRunning: 1, ContainersPaused: 0, ContainersStopped: 2, Images: 4,
		Driver: "overlay2", DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}},
		LoggingDriver: "json-file", CgroupDriver: "cgroupfs", CgroupVersion: "1",
		KernelVersion: "6.1.0", OperatingSystem: "Debian GNU/Linux 12 (bookworm)", OSType: "linux",
		Architecture: "x86_64", NCPU: 2, MemTotal: 25200000000, DockerRootDir: "/var/lib/skiff",
		Name: "host", ServerVersion: "v1", RegistryConfig: newRegistryConfig([]string{"reg:5000"}),
		SecurityOptions: securityOptions(rootless), Swarm: swarmInfo{LocalNodeState: "inactive"},
		ClientInfo: &infoClient{clientVersion: clientVersion{Version: "v1", Context: "default"}},
	}
}

func TestPrintInfo(t *testing.T) {
	var b bytes.Buffer
	if err := printInfo(&b, testInfoDoc(false)); err != nil {
		t.Fatal(err)
	}
	want := `Client:
 Version:    v1
 Context:    default
 Debug Mode: false

Server:
 Containers: 3
  Running: 1
  Paused: 0
  Stopped: 2
 Images: 4
 Server Version: v1
 Storage Driver: overlay2
  Backing Filesystem: extfs
 Logging Driver: json-file
 Cgroup Driver: cgroupfs
 Cgroup Version: 1
 Security Options:
  seccomp
   Profile: builtin
 Kernel Version: 6.1.0
 Operating System: Debian GNU/Linux 12 (bookworm)
 OSType: linux
 Architecture: x86_64
 CPUs: 2
 Total Memory: 23.47GiB
 Name: host
 ID: 0c1d
 Docker Root Dir: /var/lib/skiff
 Debug Mode: false
 Experimental: false
 Insecure Registries:
  reg:5000
  ::1/128
  127.0.0.0/8
 Live Restore Enabled: false

`
	if got := b.String(); got != want {
		t.Errorf("printInfo:\n%s\nwant:\n%s", got, want)
	}

	b.Reset()
	if err := printInfo(&b, testInfoDoc(true)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), " Cgroup Version: 1\n Security Options:\n  seccomp\n   Profile: builtin\n  rootless\n Kernel Version:") {
		t.Errorf("rootless: want docker's Security Options section before Kernel Version:\n%s", b.String())
	}
}

func TestPrintFormat(t *testing.T) {
	doc := testInfoDoc(false)
	tests := []struct {
		name, format, want string
		code               int // 0: success
	}{
		{"field", "{{.ContainersRunning}}", "1\n", 0},
		{"several", "{{.Driver}} {{.CgroupVersion}} {{.NCPU}} {{.DockerRootDir}}", "overlay2 1 2 /var/lib/skiff\n", 0},
		{"docker key skiff has as zero", "{{.Swarm.LocalNodeState}} {{.LiveRestoreEnabled}}", "inactive false\n", 0},
		{"docker's functions", "{{json .SecurityOptions}} {{join .RegistryConfig.InsecureRegistryCIDRs \",\"}}", "[\"name=seccomp,profile=builtin\"] ::1/128,127.0.0.0/8\n", 0},
		{"unknown field", "{{.Foo}}", "", 1},
		{"unparsable", "{{.Foo", "", 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := printFormat(&b, tt.format, doc)
			var ee *ExitError
			switch {
			case tt.code == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tt.code != 0 && (!errors.As(err, &ee) || ee.Code != tt.code):
				t.Fatalf("error %v, want exit %d", err, tt.code)
			}
			if b.String() != tt.want {
				t.Errorf("output %q, want %q", b.String(), tt.want)
			}
		})
	}
	var b bytes.Buffer
	err := printFormat(&b, "{{.Foo", doc)
	if err == nil || !strings.HasPrefix(err.Error(), "template parsing error: template: ") {
		t.Errorf("parse error %q, want docker's \"template parsing error: template: ...\"", err)
	}
	if err := printFormat(&b, "{{.Foo}}", doc); err == nil || !strings.Contains(err.Error(), "can't evaluate field Foo") {
		t.Errorf("unknown field: %v", err)
	}
}

func TestInfoJSONHasDockerKeys(t *testing.T) {
	var b bytes.Buffer
	if err := printFormat(&b, "json", testInfoDoc(false)); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "\n") != 1 {
		t.Errorf("want one line, got %q", b.String())
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped", "Images",
		"Driver", "DriverStatus", "LoggingDriver", "CgroupDriver", "CgroupVersion", "KernelVersion", "OperatingSystem",
		"OSType", "Architecture", "NCPU", "MemTotal", "DockerRootDir", "Name", "ServerVersion", "SecurityOptions",
		"RegistryConfig", "CpuCfsPeriod", "HttpProxy", "Swarm", "LiveRestoreEnabled", "ClientInfo"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks docker's key %q", k)
		}
	}
}
