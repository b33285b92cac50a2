package attach

import (
	"bytes"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Files sent with a frame arrive as working close-on-exec copies; a frame
// without any reads as one; more than the reader takes is refused and
// none are kept.
func TestFilesWithFrames(t *testing.T) {
	tests := []struct {
		name    string
		files   int
		max     int
		payload []byte
		wantErr bool
	}{
		{"files", 3, 4, []byte("req"), false},
		{"none", 0, 4, []byte("plain"), false},
		{"large payload", 1, 1, bytes.Repeat([]byte("x"), 300<<10), false},
		{"too many", 3, 2, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, m := pair(t)
			var sent, ends []*os.File
			for i := 0; i < tt.files; i++ {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				defer w.Close()
				sent, ends = append(sent, w), append(ends, r)
			}
			go WriteFiles(c, RunCLI, tt.payload, sent)
			f, got, err := ReadFiles(m, tt.max)
			if tt.wantErr {
				if err == nil || got != nil {
					t.Fatalf("ReadFiles() = %d files, %v; want an error", len(got), err)
				}
				return
			}
			if err != nil || f.Kind != RunCLI || !bytes.Equal(f.Payload, tt.payload) || len(got) != tt.files {
				t.Fatalf("ReadFiles() = %v, %d bytes, %d files, %v", f.Kind, len(f.Payload), len(got), err)
			}
			for i, g := range got {
				buf := make([]byte, 1)
				if _, err := g.Write([]byte{byte(i)}); err != nil {
					t.Errorf("received file %d: %v", i, err)
				} else if _, err := ends[i].Read(buf); err != nil || buf[0] != byte(i) {
					t.Errorf("received file %d is not the one sent", i)
				}
				if flags, err := unix.FcntlInt(g.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
					t.Errorf("received fd %d not close-on-exec", g.Fd())
				}
				g.Close()
			}
		})
	}
	t.Run("closed between frames", func(t *testing.T) {
		c, m := pair(t)
		c.Close()
		if _, _, err := ReadFiles(m, 1); err != io.EOF {
			t.Fatalf("ReadFiles() on a closed connection: %v, want EOF", err)
		}
	})
}
