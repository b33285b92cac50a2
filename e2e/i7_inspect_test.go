package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// Issue 7, CLI fidelity: inspect has docker's keys and zero values, ps
// takes docker's other filters, commit keeps ONBUILD and VOLUME.

// i7inspectFormat runs `inspect -f format ref` (flags first) and returns
// its one line of output.
func (s *store) i7inspectFormat(t *testing.T, format string, args ...string) string {
	t.Helper()
	r := s.must(t, append([]string{"inspect", "-f", format}, args...)...)
	return strings.TrimSuffix(r.stdout, "\n")
}

func TestI7InspectContainerKeys(t *testing.T) {
	s := shared(t)
	name := uniqueName(t)
	id := s.create(t, "--name", name, "--network", "none", fx.busybox, "sh", "-c", "echo written > /f")
	s.must(t, "start", "-a", name)

	tests := []struct{ format, want string }{
		{"{{.NetworkSettings.IPAddress}}|{{json .NetworkSettings.Ports}}|{{.HostConfig.NetworkMode}}", "|{}|none"},
		{"{{range $k, $v := .NetworkSettings.Networks}}{{$k}}:{{$v.IPAddress}};{{end}}", "none:;"},
		{"{{json .HostConfig.Binds}} {{json .Mounts}} {{json .ExecIDs}} {{json .HostConfig.PortBindings}}", "null [] null {}"},
		{"{{.HostConfig.LogConfig.Type}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.Privileged}} {{json .HostConfig.CapAdd}}", "json-file 0 0 false null"},
		{"{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.ShmSize}} {{.HostConfig.IpcMode}}", "no 67108864 private"},
		{"{{.Driver}} {{.GraphDriver.Name}} {{.Platform}} [{{.AppArmorProfile}}] [{{.MountLabel}}] {{.RestartCount}}", "overlay2 overlay2 linux [] [] 0"},
		{"{{.State.Health}} {{json .Config.Volumes}} {{json .Config.OnBuild}} {{.Config.Labels.nope}}", "<nil> null null <no value>"},
		{"{{json .SizeRw}} {{json .SizeRootFs}}", "null null"}, // only with --size
	}
	for _, tt := range tests {
		if got := s.i7inspectFormat(t, tt.format, name); got != tt.want {
			t.Errorf("inspect -f '%s':\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}

	// GraphDriver names the overlay's real directories: what the container
	// wrote is in UpperDir, the image's files in LowerDir.
	upper := s.i7inspectFormat(t, "{{.GraphDriver.Data.UpperDir}}", name)
	if b, err := os.ReadFile(filepath.Join(upper, "f")); err != nil || string(b) != "written\n" {
		t.Errorf("UpperDir %q: /f reads %q, %v; want the container's write", upper, b, err)
	}
	lower := s.i7inspectFormat(t, "{{.GraphDriver.Data.LowerDir}}", name)
	if _, err := os.Stat(filepath.Join(strings.Split(lower, ":")[0], "bin")); err != nil {
		t.Errorf("LowerDir %q: no image files: %v", lower, err)
	}
	for _, k := range []string{"WorkDir", "MergedDir"} {
		if dir := s.i7inspectFormat(t, "{{.GraphDriver.Data."+k+"}}", name); !strings.HasPrefix(dir, filepath.Join(s.root, "containers", id)) {
			t.Errorf("%s %q is not in the container's directory", k, dir)
		}
	}

	// --size: what the container wrote, and that plus its image.
	sizes := strings.Fields(s.i7inspectFormat(t, "{{.SizeRw}} {{.SizeRootFs}}", "-s", name))
	rw, err1 := strconv.Atoi(sizes[0])
	rootFs, err2 := strconv.Atoi(sizes[1])
	if len(sizes) != 2 || err1 != nil || err2 != nil || rw != len("written\n") || rootFs <= rw {
		t.Errorf("inspect -s: SizeRw SizeRootFs = %q; want %d and more", sizes, len("written\n"))
	}

	// As docker's CLI: a path through the absent State.Health fails with
	// the JSON's own words.
	r := s.skiff(nil, "inspect", "-f", "{{.State.Health.Status}}", name)
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, `map has no entry for key "Health"`) {
		t.Errorf("{{.State.Health.Status}}: %v", r)
	}

	var docs []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.must(t, "inspect", name).stdout), &docs); err != nil || len(docs) != 1 {
		t.Fatalf("inspect: not an array of one: %v", err)
	}
	for _, k := range []string{"ExecIDs", "GraphDriver", "NetworkSettings", "MountLabel", "ProcessLabel", "AppArmorProfile", "Mounts"} {
		if _, ok := docs[0][k]; !ok {
			t.Errorf("inspect JSON lacks %s", k)
		}
	}
	if _, ok := docs[0]["SizeRw"]; ok {
		t.Errorf("inspect JSON has SizeRw without --size")
	}
}

func TestI7InspectImageKeys(t *testing.T) {
	s := shared(t)
	tests := []struct{ format, want string }{
		{"{{.GraphDriver.Name}} {{json .Config.OnBuild}} {{json .Config.Volumes}} {{.Metadata.LastTagTime}}", "overlay2 null null 0001-01-01T00:00:00Z"},
		{"[{{.Config.Hostname}}] [{{.Parent}}] {{.Os}} {{.RootFS.Type}} {{len .RootFS.Layers}}", "[] [] linux layers 1"},
	}
	for _, tt := range tests {
		if got := s.i7inspectFormat(t, tt.format, fx.busybox); got != tt.want {
			t.Errorf("inspect -f '%s':\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}
	upper := s.i7inspectFormat(t, "{{.GraphDriver.Data.UpperDir}}", fx.busybox)
	if _, err := os.Stat(filepath.Join(upper, "bin")); err != nil {
		t.Errorf("image UpperDir %q: %v", upper, err)
	}
}

// VOLUME, EXPOSE and ONBUILD of a pulled image are in its config, and the
// first two in its containers' (nothing is mounted for them yet).
func TestI7InspectPulledVolumes(t *testing.T) {
	s := shared(t)
	bb, err := testenv.BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := pushOnBusyboxConfig(bb, reg.Addr+"/i7inspect/volumes:latest", v1.Config{
		Cmd: []string{"true"}, Volumes: map[string]struct{}{"/data": {}},
		ExposedPorts: map[string]struct{}{"80/tcp": {}}, OnBuild: []string{"RUN make"},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.must(t, "pull", "-q", ref)
	t.Cleanup(func() { s.skiff(nil, "rmi", ref) })
	const format = "{{.Config.Volumes}} {{json .Config.ExposedPorts}} {{json .Config.OnBuild}}"
	if got, want := s.i7inspectFormat(t, format, ref), `map[/data:{}] {"80/tcp":{}} ["RUN make"]`; got != want {
		t.Errorf("image: got %q, want %q", got, want)
	}
	id := s.create(t, ref)
	if got, want := s.i7inspectFormat(t, format, id), `map[/data:{}] {"80/tcp":{}} null`; got != want {
		t.Errorf("container: got %q, want %q", got, want)
	}
}

// commit -c ONBUILD and VOLUME: kept in the new image's config, shown by
// inspect, the volume carried into a container made from it.
func TestI7CommitOnBuildVolume(t *testing.T) {
	s := shared(t)
	id := s.create(t, fx.busybox, "true")
	repo := "i7inspect/onbuild:" + short(id)
	r := s.skiff(nil, "commit", "-c", "ONBUILD RUN echo built", "-c", `VOLUME ["/data"]`, id, repo)
	if r.code != 0 {
		t.Fatalf("commit -c ONBUILD: %v", r)
	}
	t.Cleanup(func() { s.skiff(nil, "rmi", repo) })
	if got, want := s.i7inspectFormat(t, "{{json .Config.OnBuild}} {{.Config.Volumes}}", repo), `["RUN echo built"] map[/data:{}]`; got != want {
		t.Errorf("image: got %q, want %q", got, want)
	}
	child := s.create(t, repo)
	if got, want := s.i7inspectFormat(t, "{{json .Config.OnBuild}} {{.Config.Volumes}}", child), `null map[/data:{}]`; got != want {
		t.Errorf("container of it: got %q, want %q", got, want)
	}
	r = s.skiff(nil, "commit", "-c", "ONBUILD FROM busybox", id, repo)
	oneLineError(t, r, 1)
}

func TestI7PsFilters(t *testing.T) {
	s := shared(t)
	prefix := uniqueName(t)
	var ids []string
	for _, n := range []string{"a", "b", "c"} { // created in this order
		ids = append(ids, s.create(t, "--name", prefix+"-"+n, "--network", "none", fx.busybox, "true"))
	}
	ps := func(filters ...string) result {
		args := []string{"ps", "-a", "--format", "{{.Names}}", "--filter", "name=^" + prefix + "-"}
		for _, f := range filters {
			args = append(args, "--filter", f)
		}
		return s.skiff(nil, args...)
	}
	all := prefix + "-c " + prefix + "-b " + prefix + "-a"
	tests := []struct {
		filter []string
		want   string
	}{
		{[]string{"before=" + prefix + "-b"}, prefix + "-a"},
		{[]string{"since=" + prefix + "-b"}, prefix + "-c"},
		{[]string{"since=" + ids[0]}, prefix + "-c " + prefix + "-b"},
		{[]string{"before=" + short(ids[2])}, prefix + "-b " + prefix + "-a"},
		{[]string{"health=none"}, all},
		{[]string{"health=healthy"}, ""},
		{[]string{"network=none"}, all},
		{[]string{"network=bridge"}, ""},
		{[]string{"volume=/data"}, ""},
		{[]string{"publish=80"}, ""},
		{[]string{"expose=80/tcp"}, ""},
	}
	for _, tt := range tests {
		r := ps(tt.filter...)
		if got := strings.Join(strings.Fields(r.stdout), " "); r.code != 0 || got != tt.want {
			t.Errorf("ps --filter %s: got %q, want %q; %v", tt.filter, got, tt.want, r)
		}
	}
	r := ps("before=" + prefix + "-nope")
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, "No such container: "+prefix+"-nope") {
		t.Errorf("before= an unknown container: %v", r)
	}
	oneLineError(t, ps("health=bogus"), 1)
}
