package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// dockerCapMask is CapEff of root in a default docker container.
const dockerCapMask = 0x00000000a80425fb

// testImage is a one-layer busybox image for containers started by the
// real init (the test binary doubles as it): run's init tests use the
// same shape, with hostile entries of their own.
type testImage struct{ layer string }

func newTestImage(t *testing.T) *testImage {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the container init needs root")
	}
	if _, err := os.Stat(testenv.BusyboxPath); err != nil {
		t.Skipf("needs a static busybox: %v", err)
	}
	img := &testImage{layer: t.TempDir()}
	if err := testenv.WriteRootfs(img.layer); err != nil {
		t.Fatal(err)
	}
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
