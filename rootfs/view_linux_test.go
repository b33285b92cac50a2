package run

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/state"
)

// fakeStopped lays out a stopped container with one image layer and an
// upper dir holding overlay's own whiteout and opaque markers.
func fakeStopped(t *testing.T) (root string, c *state.Container) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	root = t.TempDir()
	id, _ := state.NewID()
	dir, _ := state.Dir(root, id)
	layer := filepath.Join(root, "layer")
	for _, d := range []string{filepath.Join(dir, "upper", "opq"), filepath.Join(dir, "work"), filepath.Join(layer, "opq")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(layer, "kept"), "image")
	write(filepath.Join(layer, "deleted"), "image")
	write(filepath.Join(layer, "opq", "hidden"), "image")
	write(filepath.Join(dir, "upper", "kept"), "changed")
	write(filepath.Join(dir, "upper", "opq", "new"), "new")
	if err := unix.Mknod(filepath.Join(dir, "upper", "deleted"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setxattr(filepath.Join(dir, "upper", "opq"), "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	// Planted by the container: must resolve inside its root, not the host's.
	if err := os.Symlink("/../../../../etc", filepath.Join(dir, "upper", "escape")); err != nil {
		t.Fatal(err)
	}
	layers, _ := json.Marshal([]string{layer})
	spec, _ := json.Marshal(specs.Spec{Annotations: map[string]string{annotLowerdirs: string(layers)}})
	write(filepath.Join(dir, "config.json"), string(spec))
	c = &state.Container{ID: id, Status: state.Exited}
	return root, c
}

func TestOpenRootfsStopped(t *testing.T) {
	root, c := fakeStopped(t)
	fd, release, err := OpenRootfs(root, t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	read := func(p string) (string, error) {
		f, err := InRoot(fd, p, unix.O_RDONLY)
		if err != nil {
			return "", err
		}
		file := os.NewFile(uintptr(f), p)
		defer file.Close()
		b, err := io.ReadAll(file)
		return string(b), err
	}
	tests := []struct {
		path, want string
		missing    bool
	}{
		{path: "/kept", want: "changed"},
		{path: "deleted", missing: true},
		{path: "/opq/hidden", missing: true},
		{path: "/opq/new", want: "new"},
		{path: "/escape/passwd", missing: true},
		{path: "/../../kept", want: "changed"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := read(tt.path)
			if tt.missing {
				if !errors.Is(err, unix.ENOENT) {
					t.Fatalf("got %q, %v; want ENOENT", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if w, err := InRoot(fd, "/new", unix.O_WRONLY|unix.O_CREAT); err == nil {
		unix.Close(w)
		t.Fatal("a stopped container's read-only view took a write")
	}
}

func TestOpenRootfsRunning(t *testing.T) {
	self := os.Getpid()
	start, err := state.PidStartTime(self)
	if err != nil {
		t.Fatal(err)
	}
	c := &state.Container{ID: "x", Status: state.Running, Pid: self, PidStartTime: start}
	fd, release, err := OpenRootfs(t.TempDir(), t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var st, want unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	unix.Stat("/", &want)
	if st.Ino != want.Ino || st.Dev != want.Dev {
		t.Fatal("the running process's root is not /proc/<pid>/root")
	}
	c.PidStartTime = start + 1 // a recycled pid: falls back to the overlay, which does not exist
	if fd, _, err := OpenRootfs(t.TempDir(), t.TempDir(), c); err == nil {
		unix.Close(fd)
		t.Fatal("a pid with another start time was taken for the container's")
	}
}
