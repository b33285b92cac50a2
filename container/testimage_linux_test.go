package container

import (
	"os"
	"path/filepath"
	"testing"
)

// dockerCapMask is CapEff of root in a default docker container.
const dockerCapMask = 0x00000000a80425fb

// testImage is a one-layer busybox image for containers started by the
// real init (the test binary doubles as it): run's init tests use the
// same shape, with hostile entries of their own.
type testImage struct{ layer string }

var busyboxApplets = []string{"sh", "cat", "grep", "hostname", "id", "ls", "echo", "pwd", "stat", "wc", "readlink"}

func newTestImage(t *testing.T) *testImage {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the container init needs root")
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Skipf("needs a static busybox: %v", err)
	}
	img := &testImage{layer: t.TempDir()}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(img.layer, 0o755)) // an image's / (TempDir makes 0700)
	for _, d := range []string{"bin", "etc", "home/alice"} {
		must(os.MkdirAll(filepath.Join(img.layer, d), 0o755))
	}
	must(os.WriteFile(filepath.Join(img.layer, "bin/busybox"), bb, 0o755))
	for _, a := range busyboxApplets {
		must(os.Symlink("busybox", filepath.Join(img.layer, "bin", a)))
	}
	must(os.WriteFile(filepath.Join(img.layer, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"), 0o644))
	must(os.WriteFile(filepath.Join(img.layer, "etc/group"), []byte("root:x:0:\nwheel:x:10:root\nalice:x:1000:\n"), 0o644))
	must(os.WriteFile(filepath.Join(img.layer, "notexec"), []byte("#!/bin/sh\n"), 0o644))
	return img
}

// withApplets adds busybox applets the test image lacks.
func withApplets(t *testing.T, img *testImage, names ...string) {
	t.Helper()
	for _, n := range names {
		err := os.Symlink("busybox", filepath.Join(img.layer, "bin", n))
		if err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
}
