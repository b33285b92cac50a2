package commands

import (
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/state"
)

// A change never reaches the parent image's config through shared slices or maps.
func TestChildConfigCopies(t *testing.T) {
	parent := v1.ConfigFile{Config: v1.Config{Env: []string{"A=1"}, Labels: map[string]string{"k": "v"}}}
	child, err := childConfig(parent, []string{"ENV A=2", "LABEL k=w"})
	if err != nil {
		t.Fatal(err)
	}
	if parent.Config.Env[0] != "A=1" || parent.Config.Labels["k"] != "v" {
		t.Fatalf("parent changed: %+v", parent.Config)
	}
	if child.Config.Env[0] != "A=2" || child.Config.Labels["k"] != "w" {
		t.Fatalf("child: %+v", child.Config)
	}
}

// ONBUILD triggers accumulate on the new image; the parent's are not
// inherited through a commit (a container's config has none, as docker's).
func TestCommitOnBuild(t *testing.T) {
	parent := v1.ConfigFile{Config: v1.Config{OnBuild: []string{"RUN parent"}, Volumes: map[string]struct{}{"/data": {}}}}
	ran := withContainerConfig(parent, state.Config{})
	if ran.Config.OnBuild != nil || len(ran.Config.Volumes) != 1 {
		t.Fatalf("container config: OnBuild %q, Volumes %v; want none and the image's /data", ran.Config.OnBuild, ran.Config.Volumes)
	}
	child, err := childConfig(parent, []string{"ONBUILD RUN a", "ONBUILD RUN b", `VOLUME ["/logs"]`})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"RUN parent", "RUN a", "RUN b"}; !reflect.DeepEqual(child.Config.OnBuild, want) {
		t.Fatalf("OnBuild %q, want %q", child.Config.OnBuild, want)
	}
	if len(parent.Config.OnBuild) != 1 || len(parent.Config.Volumes) != 1 {
		t.Fatalf("parent changed: %+v", parent.Config)
	}
	if want := map[string]struct{}{"/data": {}, "/logs": {}}; !reflect.DeepEqual(child.Config.Volumes, want) {
		t.Fatalf("Volumes %v, want %v", child.Config.Volumes, want)
	}
}
