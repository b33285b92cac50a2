package rolesbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testDigest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestInstall(t *testing.T) {
	for _, tt := range []struct {
		name            string
		payload, digest string
		runRoot         func(t *testing.T) string
		want            string // "installed" or Self
	}{
		{"no payload (plain go build)", "", testDigest, tempDir, Self},
		{"no digest (built without make)", "prog", "", tempDir, Self},
		{"no run root", "prog", testDigest, func(*testing.T) string { return "" }, Self},
		{"run root not writable", "prog", testDigest, func(t *testing.T) string { return "/proc/nonexistent" }, Self},
		{"installs", "prog", testDigest, tempDir, "installed"},
		{"replaces a file of the wrong size", "prog", testDigest, func(t *testing.T) string {
			d := tempDir(t)
			os.MkdirAll(filepath.Join(d, "roles"), 0o700)
			os.WriteFile(filepath.Join(d, "roles", testDigest), []byte("truncated-or-other"), 0o500)
			return d
		}, "installed"},
		{"replaces a file others may write", "prog", testDigest, func(t *testing.T) string {
			d := tempDir(t)
			os.MkdirAll(filepath.Join(d, "roles"), 0o700)
			p := filepath.Join(d, "roles", testDigest)
			os.WriteFile(p, []byte("prog"), 0o500)
			os.Chmod(p, 0o777)
			return d
		}, "installed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.runRoot(t)
			got := install(dir, tt.payload, tt.digest)
			if tt.want == Self {
				if got != Self {
					t.Fatalf("install = %q, want %q", got, Self)
				}
				return
			}
			want := filepath.Join(dir, "roles", tt.digest)
			if got != want {
				t.Fatalf("install = %q, want %q", got, want)
			}
			fi, err := os.Stat(got)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(got); string(b) != tt.payload || fi.Mode().Perm() != 0o500 {
				t.Errorf("installed %q mode %v, want %q mode 0500", b, fi.Mode().Perm(), tt.payload)
			}
			ents, _ := os.ReadDir(filepath.Dir(got))
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".tmp-") {
					t.Errorf("temporary %s left beside the installed program", e.Name())
				}
			}
			if again := install(dir, tt.payload, tt.digest); again != got {
				t.Errorf("second install = %q, want the same %q", again, got)
			}
		})
	}
}

func tempDir(t *testing.T) string { return t.TempDir() }

// Installing a new skiff-roles removes an older skiff's copy.
func TestInstallRemovesOlderCopies(t *testing.T) {
	dir := t.TempDir()
	old := strings.Repeat("f", 64)
	if install(dir, "old", old) == Self {
		t.Fatal("the old copy was not installed")
	}
	got := install(dir, "new", testDigest)
	if got != filepath.Join(dir, "roles", testDigest) {
		t.Fatalf("install = %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "roles", old)); err == nil {
		t.Error("the older copy is still there")
	}
}
