package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestMountCgroupViews: the spec's cgroup mount becomes a tmpfs holding
// each hierarchy's directory (plain dirs stand for the cgroup ones), all
// read-only; a view outside /sys/fs/cgroup is refused.
func TestMountCgroupViews(t *testing.T) {
	root := t.TempDir()
	mem, pids := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(mem, "memory.limit_in_bytes"), []byte("67108864\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cgroupMount := []specs.Mount{{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}}}
	inPrivateMountNS(t, func() {
		err := MountAll(root, cgroupMount,
			CgroupBind{Source: mem, Target: "/sys/fs/cgroup/memory"}, CgroupBind{Source: pids, Target: "/sys/fs/cgroup/pids"})
		if err != nil {
			t.Errorf("MountAll: %v", err)
			return
		}
		b, err := os.ReadFile(filepath.Join(root, "sys/fs/cgroup/memory/memory.limit_in_bytes"))
		if err != nil || string(b) != "67108864\n" {
			t.Errorf("the memory view: %q, %v", b, err)
		}
		for _, p := range []string{"sys/fs/cgroup/memory/x", "sys/fs/cgroup/pids/x", "sys/fs/cgroup/x"} {
			if err := os.WriteFile(filepath.Join(root, p), nil, 0o644); !errors.Is(err, unix.EROFS) {
				t.Errorf("write %s: %v, want EROFS", p, err)
			}
		}
		err = MountAll(t.TempDir(), cgroupMount, CgroupBind{Source: mem, Target: "/etc"})
		if err == nil {
			t.Error("a view outside /sys/fs/cgroup was mounted")
		}
	})
}
