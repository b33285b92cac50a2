package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestParseMountOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []string
		want mountOpts
	}{
		{"proc", []string{"nosuid", "noexec", "nodev"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV}},
		{"dev tmpfs", []string{"nosuid", "strictatime", "mode=755", "size=65536k"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_STRICTATIME, data: "mode=755,size=65536k"}},
		{"devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, mountOpts{flags: unix.MS_NOSUID | unix.MS_NOEXEC, data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{"rbind rprivate", []string{"rbind", "rprivate"}, mountOpts{flags: unix.MS_BIND | unix.MS_REC, propagation: unix.MS_PRIVATE | unix.MS_REC}},
		{"later word wins", []string{"ro", "rw", "nosuid", "suid"}, mountOpts{}},
		{"bind ro", []string{"bind", "ro"}, mountOpts{flags: unix.MS_BIND | unix.MS_RDONLY}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseMountOptions(tt.opts); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCommonParent(t *testing.T) {
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"layers", []string{"/var/lib/skiff/containers/c/upper", "/var/lib/skiff/layers/a/diff", "/var/lib/skiff/layers/b/diff"}, "/var/lib/skiff"},
		{"siblings", []string{"/a/b/x", "/a/b/y"}, "/a/b"},
		{"prefix is not a parent", []string{"/a/bc/x", "/a/b/y"}, "/a"},
		{"root", []string{"/x/1", "/y/2"}, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := commonParent(tt.paths); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMountAll(t *testing.T) {
	root, host := hostileRoot(t)
	src := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(src, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mounts := []specs.Mount{
		{Destination: "/etc/data", Type: "bind", Source: src, Options: []string{"rbind", "ro", "rprivate"}},
		{Destination: "/up/run", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=700"}},
	}
	inPrivateMountNS(t, func() {
		if err := MountAll(root, mounts); err != nil {
			t.Errorf("MountAll: %v", err)
			return
		}
		// /etc -> host in the image: the bind lands on root/host/data.
		in := filepath.Join(root, host, "data")
		if got, err := os.ReadFile(in); err != nil || string(got) != "from the host\n" {
			t.Errorf("read %s: %q, %v", in, got, err)
		}
		if err := os.WriteFile(in, []byte("x"), 0o644); !errors.Is(err, unix.EROFS) {
			t.Errorf("write to the ro bind: %v, want EROFS", err)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Join(root, "run"), &st); err != nil || st.Type != unix.TMPFS_MAGIC || st.Flags&unix.ST_NOSUID == 0 {
			t.Errorf("statfs root/run: %v, type %x flags %x; want a nosuid tmpfs", err, st.Type, st.Flags)
		}
		if _, err := os.Stat(filepath.Join(host, "data")); err == nil {
			t.Error("a mount target was created on the host")
		}
	})
}

// TestMountAllRefusesTheRoot: a destination that resolves to the root
// itself (an image's /data -> ../.. or -> /) would cover the whole root.
func TestMountAllRefusesTheRoot(t *testing.T) {
	root, _ := hostileRoot(t)
	src := t.TempDir()
	for _, dest := range []string{"/up", "/up/", "/usr/.."} {
		inPrivateMountNS(t, func() {
			err := MountAll(root, []specs.Mount{{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind"}}})
			if !errors.Is(err, ErrTargetIsRoot) {
				t.Errorf("%s: err %v, want ErrTargetIsRoot", dest, err)
			}
		})
	}
}
