package rootfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
)

// fakeStopped lays out a stopped container's overlay with one image layer
// and an upper dir holding overlay's own whiteout and opaque markers.
func fakeStopped(t *testing.T) Layers {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting an overlay needs root")
	}
	dir := t.TempDir()
	layer := filepath.Join(dir, "layer")
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
	return Layers{Lower: []string{layer}, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}
}

func TestOpenView(t *testing.T) {
	fd, release, err := OpenView(fakeStopped(t))
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

func TestOpenProcRoot(t *testing.T) {
	self := os.Getpid()
	start, err := proc.StartTime(self)
	if err != nil {
		t.Fatal(err)
	}
	fd, release, err := OpenProcRoot(self, start)
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
	// A recycled pid: the caller falls back to the overlay.
	if fd, _, err := OpenProcRoot(self, start+1); err == nil || !errors.Is(err, ErrGone) {
		if err == nil {
			unix.Close(fd)
		}
		t.Fatalf("a pid with another start time was taken for the container's: %v", err)
	}
}

// TestOpenWritable: a copy into a stopped container goes to its upper dir,
// and a still empty upper first gets the top layer root's owner and mode,
// as the container's own mount gives it (matchUpperRoot).
func TestOpenWritable(t *testing.T) {
	l := fakeStopped(t)
	empty := filepath.Join(t.TempDir(), "upper")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(l.Lower[0], 1234, 4321); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(l.Lower[0], 0o751); err != nil {
		t.Fatal(err)
	}
	l.Upper = empty
	fd, release, err := OpenWritable(l)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	w, err := InRoot(fd, "/new", unix.O_WRONLY|unix.O_CREAT)
	if err != nil {
		t.Fatalf("write into the writable view: %v", err)
	}
	unix.Close(w)
	if _, err := os.Lstat(filepath.Join(empty, "new")); err != nil {
		t.Errorf("the write did not land in the upper dir: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(empty, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o7777 != 0o751 || st.Uid != 1234 || st.Gid != 4321 {
		t.Errorf("upper root %o %d:%d, want the top layer's 751 1234:4321", st.Mode&0o7777, st.Uid, st.Gid)
	}
}

// TestBindInView: a stopped container's view shows a bind's host data at
// its destination, resolved inside the view: a destination reached through
// an absolute symlink lands inside the view, never on the host path.
func TestBindInView(t *testing.T) {
	l := fakeStopped(t)
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "f"), []byte("volume"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data", "inside"} {
		if err := os.Mkdir(filepath.Join(l.Upper, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// /link -> /inside: the bind must land on the view's /inside.
	if err := os.Symlink("/inside", filepath.Join(l.Upper, "link")); err != nil {
		t.Fatal(err)
	}
	fd, release, err := OpenView(l)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	binds := []ViewBind{{Source: data, Destination: "/data"}, {Source: data, Destination: "/link"},
		{Source: data, Destination: "/missing"}}
	if err := BindInView(fd, binds, false); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/data/f", "/inside/f", "/link/f"} {
		f, err := InRoot(fd, p, unix.O_RDONLY)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		b, _ := io.ReadAll(os.NewFile(uintptr(f), p))
		unix.Close(f)
		if string(b) != "volume" {
			t.Errorf("%s: %q, want the bind's data", p, b)
		}
	}
	if _, err := InRoot(fd, "/missing", unix.O_PATH); !errors.Is(err, unix.ENOENT) {
		t.Errorf("/missing: %v, want a missing destination left alone", err)
	}
	// Read-only: nothing is written through the view into the host dir.
	if f, err := InRoot(fd, "/data/new", unix.O_WRONLY|unix.O_CREAT); err == nil || !errors.Is(err, unix.EROFS) {
		if err == nil {
			unix.Close(f)
		}
		t.Errorf("create through a read-only view: %v, want EROFS", err)
	}
}

// TestBindInViewWritable: a copy into a stopped container writes through
// its writable overlay into the bind's host dir, a missing destination
// made inside the root (in the upper dir), a read-only bind refused.
func TestBindInViewWritable(t *testing.T) {
	l := fakeStopped(t)
	data, ro := t.TempDir(), t.TempDir()
	fd, release, err := OpenWritable(l)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	binds := []ViewBind{{Source: data, Destination: "/new/data"}, {Source: ro, Destination: "/ro", ReadOnly: true}}
	if err := BindInView(fd, binds, true); err != nil {
		t.Fatal(err)
	}
	f, err := InRoot(fd, "/new/data/f", unix.O_WRONLY|unix.O_CREAT)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(f)
	if _, err := os.Stat(filepath.Join(data, "f")); err != nil {
		t.Errorf("the file is not in the bind's host dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.Upper, "new", "data")); err != nil {
		t.Errorf("the missing destination was not made in the upper dir: %v", err)
	}
	if f, err := InRoot(fd, "/ro/f", unix.O_WRONLY|unix.O_CREAT); !errors.Is(err, unix.EROFS) {
		if err == nil {
			unix.Close(f)
		}
		t.Errorf("create in a read-only bind: %v, want EROFS", err)
	}
}
