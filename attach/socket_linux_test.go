package attach

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The attach socket works however deep the run root is.
func TestAttachSocketPaths(t *testing.T) {
	id := strings.Repeat("d", 64)
	for _, tt := range []struct{ name, runRoot string }{
		{"short", t.TempDir()},
		{"longer than sun_path", filepath.Join(t.TempDir(), strings.Repeat("x", 80))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.MkdirAll(tt.runRoot, 0o700); err != nil {
				t.Fatal(err)
			}
			l, err := Listen(filepath.Join(tt.runRoot, "containers", id, "attach.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err == nil {
					c.Write([]byte("hi"))
					c.Close()
				}
			}()
			c, err := Dial(filepath.Join(tt.runRoot, "containers", id, "attach.sock"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "hi" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}
