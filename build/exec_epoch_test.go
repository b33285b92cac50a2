package build

import (
	"archive/tar"
	"bytes"
	"io"
	"testing"
	"time"
)

// Entries later than the epoch are clamped to it, earlier ones kept, and
// the content and PAX records pass through.
func TestClampedTar(t *testing.T) {
	epoch := time.Unix(1600000000, 0)
	old := time.Unix(1500000000, 0)
	write := func(w io.Writer) error {
		tw := tar.NewWriter(w)
		tw.WriteHeader(&tar.Header{Name: "new", Typeflag: tar.TypeReg, Size: 3, ModTime: time.Now(), Format: tar.FormatPAX,
			PAXRecords: map[string]string{"SCHILY.xattr.user.k": "v"}})
		tw.Write([]byte("abc"))
		tw.WriteHeader(&tar.Header{Name: "old/", Typeflag: tar.TypeDir, ModTime: old})
		return tw.Close()
	}
	var b bytes.Buffer
	if err := clampedTar(write, epoch)(&b); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&b)
	want := []struct {
		name, body string
		mtime      time.Time
	}{{"new", "abc", epoch}, {"old/", "", old}}
	for _, w := range want {
		h, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		if h.Name != w.name || string(body) != w.body || !h.ModTime.Equal(w.mtime) {
			t.Errorf("entry %s %q %v, want %s %q %v", h.Name, body, h.ModTime, w.name, w.body, w.mtime)
		}
		if w.name == "new" && h.PAXRecords["SCHILY.xattr.user.k"] != "v" {
			t.Errorf("the xattr record is lost: %v", h.PAXRecords)
		}
	}
}
