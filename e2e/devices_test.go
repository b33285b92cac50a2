package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A container's root has CAP_MKNOD, as in docker, so only the device
// cgroup (or, where skiff cannot set one, the lack of that capability)
// stands between it and the host's disks: it must not read a block
// device of the host's through a node it makes itself.
func TestHostDiskUnreachable(t *testing.T) {
	s := shared(t)
	disk := hostBlockDevice(t)
	r := inside(t, s, "mknod /dev/disk b "+strings.Replace(disk, ":", " ", 1)+" && head -c 512 /dev/disk | wc -c")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "0" || !strings.Contains(r.stderr, "not permitted") {
		t.Fatalf("reading the host's block device %s through a node made in the container: %s", disk, r)
	}
	r = inside(t, s, "head -c 4 /dev/zero | wc -c; echo x > /dev/null && echo null-ok")
	if r.code != 0 || !strings.Contains(r.stdout, "4\n") || !strings.Contains(r.stdout, "null-ok") {
		t.Fatalf("docker's allowed devices must keep working: %s", r)
	}
}

// hostBlockDevice attaches a loop device to a small file the host can read
// (the VM's own disk may be closed even to root) and returns its major:minor.
func hostBlockDevice(t *testing.T) string {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, []byte(strings.Repeat("host disk data\n", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device to stand for a host disk: losetup: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	if b, err := os.ReadFile(dev); err != nil || len(b) == 0 {
		t.Skipf("the host itself cannot read %s: %v", dev, err)
	}
	mm, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "dev"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(mm))
}
