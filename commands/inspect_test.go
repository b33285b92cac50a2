package commands

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/state"
)

func TestContainerInspect(t *testing.T) {
	g := &Globals{Paths: config.Paths{Root: "/r", RunRoot: "/rr"}}
	id := strings.Repeat("c", 64)
	started := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name string
		c    state.Container
		want map[string]string // template -> output
	}{
		{"running", state.Container{Status: state.Running, Pid: 42, StartedAt: started,
			Config: state.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"a", "b"}, Init: true, StopSignal: "SIGUSR1",
				RestartPolicy: state.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}}},
			map[string]string{
				"{{.Name}} {{.State.Status}} {{.State.Running}} {{.State.Pid}}": "/x running true 42",
				"{{.Path}} {{json .Args}}":                                      `/ep ["a","b"]`,
				"{{.State.StartedAt}} {{.State.FinishedAt}}":                    "2026-01-02T03:04:05.000000006Z 0001-01-01T00:00:00Z",
				"{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}} {{.HostConfig.Init}}": "on-failure:3 true",
				"{{.Config.StopSignal}} {{json .Config.Labels}} {{json .Mounts}}":                                         "SIGUSR1 {} []",
			}},
		{"exited, unknown code, never started", state.Container{Status: state.Exited, ExitCode: state.UnknownExit, Pid: 7},
			map[string]string{
				"{{.State.Status}} {{.State.Running}} {{.State.Pid}} {{.State.ExitCode}}": "exited false 0 -1",
				"{{.Path}} {{json .Args}} {{.HostConfig.RestartPolicy.Name}}":             " [] no",
				"{{json .HostConfig.Init}} {{.LogPath}}":                                  "null /r/containers/" + id + "/" + id + "-json.log",
			}},
		{"restarting", state.Container{Status: state.Restarting, RestartCount: 2},
			map[string]string{"{{.State.Running}} {{.State.Restarting}} {{.RestartCount}}": "true true 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.ID, c.Name, c.Image, c.ImageID = id, "x", "busybox", "sha256:"+strings.Repeat("f", 64)
			doc := toContainerInspect(g, &c)
			for format, want := range tt.want {
				tmpl, err := goTemplate(format)
				if err != nil {
					t.Fatal(err)
				}
				var b bytes.Buffer
				if err := printDocs(&b, tmpl, []any{doc}); err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSuffix(b.String(), "\n"); got != want {
					t.Errorf("%s: got %q, want %q", format, got, want)
				}
			}
		})
	}
}

// dockerContainerKeys are the keys docker (v28) always prints for a
// container, in its order, per object.
var dockerContainerKeys = map[string][]string{
	"": {"Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath", "HostsPath",
		"LogPath", "Name", "RestartCount", "Driver", "Platform", "MountLabel", "ProcessLabel", "AppArmorProfile",
		"ExecIDs", "HostConfig", "GraphDriver", "Mounts", "Config", "NetworkSettings"},
	"State": {"Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid", "ExitCode", "Error",
		"StartedAt", "FinishedAt"},
	"HostConfig": {"Binds", "ContainerIDFile", "LogConfig", "NetworkMode", "PortBindings", "RestartPolicy",
		"AutoRemove", "VolumeDriver", "VolumesFrom", "ConsoleSize", "CapAdd", "CapDrop", "CgroupnsMode", "Dns",
		"DnsOptions", "DnsSearch", "ExtraHosts", "GroupAdd", "IpcMode", "Cgroup", "Links", "OomScoreAdj", "PidMode",
		"Privileged", "PublishAllPorts", "ReadonlyRootfs", "SecurityOpt", "UTSMode", "UsernsMode", "ShmSize",
		"Isolation", "CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "BlkioWeightDevice",
		"BlkioDeviceReadBps", "BlkioDeviceWriteBps", "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps", "CpuPeriod",
		"CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems", "Devices",
		"DeviceCgroupRules", "DeviceRequests", "MemoryReservation", "MemorySwap", "MemorySwappiness",
		"OomKillDisable", "PidsLimit", "Ulimits", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth",
		"MaskedPaths", "ReadonlyPaths"},
	"HostConfig.LogConfig":     {"Type", "Config"},
	"HostConfig.RestartPolicy": {"Name", "MaximumRetryCount"},
	"GraphDriver":              {"Data", "Name"},
	"GraphDriver.Data":         {"LowerDir", "MergedDir", "UpperDir", "WorkDir"},
	"Config": {"Hostname", "Domainname", "User", "AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin",
		"StdinOnce", "Env", "Cmd", "Image", "Volumes", "WorkingDir", "Entrypoint", "OnBuild", "Labels"},
	"NetworkSettings": {"Bridge", "SandboxID", "SandboxKey", "Ports", "HairpinMode", "LinkLocalIPv6Address",
		"LinkLocalIPv6PrefixLen", "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "Gateway",
		"GlobalIPv6Address", "GlobalIPv6PrefixLen", "IPAddress", "IPPrefixLen", "IPv6Gateway", "MacAddress",
		"Networks"},
	"NetworkSettings.Networks": {"none"},
	"NetworkSettings.Networks.none": {"IPAMConfig", "Links", "Aliases", "MacAddress", "DriverOpts", "GwPriority",
		"NetworkID", "EndpointID", "Gateway", "IPAddress", "IPPrefixLen", "IPv6Gateway", "GlobalIPv6Address",
		"GlobalIPv6PrefixLen", "DNSNames"},
}

// dockerOptionalContainerKeys are keys docker leaves out of the JSON when
// empty: a template naming them must still work.
var dockerOptionalContainerKeys = []string{"State.Health", "SizeRw", "SizeRootFs", "Config.ExposedPorts",
	"Config.Healthcheck", "Config.ArgsEscaped", "Config.NetworkDisabled", "Config.MacAddress", "Config.StopSignal",
	"Config.StopTimeout", "Config.Shell", "HostConfig.Annotations", "HostConfig.StorageOpt", "HostConfig.Tmpfs",
	"HostConfig.Sysctls", "HostConfig.Runtime", "HostConfig.KernelMemory", "HostConfig.KernelMemoryTCP",
	"HostConfig.Mounts", "HostConfig.Init"}

// withLayers gives container c's record its image layers (bottom first)
// and makes its directory, as container.Store.Create does.
func withLayers(t *testing.T, root string, c *state.Container, layers ...string) {
	t.Helper()
	c.Layers = layers
	if err := os.MkdirAll(filepath.Join(root, "containers", c.ID), 0o700); err != nil {
		t.Fatal(err)
	}
}

func TestContainerInspectKeys(t *testing.T) {
	root := t.TempDir()
	c := state.Container{ID: strings.Repeat("d", 64), Name: "y", Status: state.Created}
	withLayers(t, root, &c, "/l/bottom")
	doc := toContainerInspect(&Globals{Paths: config.Paths{Root: root}}, &c)
	var b bytes.Buffer
	if err := printDocs(&b, nil, []any{doc}); err != nil {
		t.Fatal(err)
	}
	for path, want := range dockerContainerKeys {
		t.Run("json "+path, func(t *testing.T) {
			if got := jsonKeys(t, b.Bytes(), path); !slices.Equal(got, want) {
				t.Errorf("keys of %q:\n got %q\nwant %q", path, got, want)
			}
		})
	}
	for path, keys := range dockerContainerKeys {
		for _, k := range keys {
			checkTemplate(t, doc, strings.TrimPrefix(path+"."+k, "."))
		}
	}
	for _, k := range dockerOptionalContainerKeys {
		checkTemplate(t, doc, k)
	}
	b.Reset()
	if err := printDocs(&b, nil, nil); err != nil || b.String() != "[]\n" {
		t.Errorf("nothing found: %q, %v; want docker's []", b.String(), err)
	}
}

// Docker's zero values where skiff has nothing yet, and how docker's CLI
// runs templates over them.
func TestContainerInspectZeroValues(t *testing.T) {
	root := t.TempDir()
	id := strings.Repeat("e", 64)
	c := state.Container{ID: id, Name: "z", Status: state.Running, Pid: 9,
		Config: state.Config{OpenStdin: true, AttachStdin: true, Volumes: map[string]struct{}{"/data": {}},
			ExposedPorts: map[string]struct{}{"80/tcp": {}}}}
	withLayers(t, root, &c, "/l/bottom", "/l/top")
	doc := toContainerInspect(&Globals{Paths: config.Paths{Root: root}}, &c)
	dir := root + "/containers/" + id
	tests := []struct{ format, want, err string }{
		{format: "{{json .HostConfig.Binds}} {{json .Mounts}} {{json .ExecIDs}}", want: "null [] null"},
		{format: "[{{.NetworkSettings.IPAddress}}] {{json .NetworkSettings.Ports}} {{json .HostConfig.PortBindings}}", want: "[] {} {}"},
		{format: "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}[{{$v.IPAddress}}]{{end}}", want: "none none[]"},
		{format: "{{.HostConfig.LogConfig.Type}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}}", want: "json-file 0 0 false null"},
		{format: "{{.Driver}} {{.GraphDriver.Name}} {{.Platform}}", want: "overlay2 overlay2 linux"},
		{format: "{{.GraphDriver.Data.LowerDir}} {{.GraphDriver.Data.UpperDir}} {{.GraphDriver.Data.WorkDir}} {{.GraphDriver.Data.MergedDir}}",
			want: "/l/top:/l/bottom " + dir + "/upper " + dir + "/work " + dir + "/rootfs"},
		{format: "{{.Config.Volumes}} {{json .Config.ExposedPorts}} {{json .Config.OnBuild}}", want: `map[/data:{}] {"80/tcp":{}} null`},
		{format: "{{.Config.StdinOnce}} {{json .SizeRw}}", want: "true null"},
		// docker's CLI: a nil pointer prints <nil>, a missing map key
		// <no value>; a path through a missing key fails with the JSON's
		// "map has no entry".
		{format: "{{.State.Health}}", want: "<nil>"},
		{format: "{{.Config.Labels.nope}}", want: "<no value>"},
		{format: "{{.State.Health.Status}}", err: `template parsing error: template: :1:8: executing "" at <.State.Health.Status>: map has no entry for key "Health"`},
	}
	for _, tt := range tests {
		tmpl, err := goTemplate(tt.format)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		err = printDocs(&b, tmpl, []any{doc})
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s: err %v, want %q", tt.format, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.format, err)
		} else if got := strings.TrimSuffix(b.String(), "\n"); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}
}

// checkTemplate asserts that a template naming a docker key runs.
func checkTemplate(t *testing.T, doc any, path string) {
	t.Helper()
	tmpl, err := goTemplate("{{." + path + "}}")
	if err != nil {
		t.Fatal(err)
	}
	if err := printDocs(io.Discard, tmpl, []any{doc}); err != nil {
		t.Errorf("{{.%s}}: %v", path, err)
	}
}

// jsonKeys are the keys, in order, of the object at a dotted path in the
// first document of a JSON array.
func jsonKeys(t *testing.T, b []byte, path string) []string {
	t.Helper()
	var docs []json.RawMessage
	if err := json.Unmarshal(b, &docs); err != nil || len(docs) == 0 {
		t.Fatalf("not a JSON array: %v\n%s", err, b)
	}
	obj := docs[0]
	for _, k := range strings.Split(path, ".") {
		if k == "" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(obj, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		obj = m[k]
	}
	dec := json.NewDecoder(bytes.NewReader(obj))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s is not an object: %s", path, obj)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
