package container

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/skiff-dev/skiff/rootfs"
)

func TestFillerAbsentFromImage(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(lower, "data", "sub"), 0o755)
	os.Symlink("/", filepath.Join(lower, "link"))
	os.WriteFile(filepath.Join(upper, "file"), nil, 0o644)
	f := &filler{layers: rootfs.Layers{Lower: []string{lower}, Upper: upper}}
	for _, tt := range []struct {
		dest   string
		absent bool
	}{
		{"/v", true},
		{"/nothing/deeper", true},
		{"/data", false},
		{"/data/sub", false},
		{"/data/missing", false}, // first component present: the view decides
		{"/link/etc", false},     // a link at the first component: the view decides
		{"/file", false},
		{"/", false},
	} {
		if got := f.absentFromImage(tt.dest); got != tt.absent {
			t.Errorf("absentFromImage(%q) = %v, want %v", tt.dest, got, tt.absent)
		}
	}
}
