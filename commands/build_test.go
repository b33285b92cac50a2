package commands

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuildArgs(t *testing.T) {
	one, empty := "1", ""
	got := buildArgs([]string{"A=1", "B", "C=", "D=x=y"})
	xy := "x=y"
	want := map[string]*string{"A": &one, "B": nil, "C": &empty, "D": &xy}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
}

func TestBuildNames(t *testing.T) {
	got, err := buildNames([]string{"app", "example.com/team/app:v2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"docker.io/library/app:latest", "example.com/team/app:v2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	for _, bad := range []string{"UPPER", "app@sha256:" + "0000000000000000000000000000000000000000000000000000000000000000"} {
		if _, err := buildNames([]string{bad}); err == nil {
			t.Errorf("-t %s accepted", bad)
		}
	}
}
