package build

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bfrontTree writes files (a trailing "/" makes a directory, "->" a
// symlink) under a new directory and returns it.
func bfrontTree(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		name, target, isLink := strings.Cut(f, " -> ")
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case isLink:
			err = os.Symlink(target, p)
		case strings.HasSuffix(name, "/"):
			err = os.MkdirAll(p, 0o755)
		default:
			err = os.WriteFile(p, []byte("content of "+name), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openTestContext(t *testing.T, dir, dockerfile string) *Context {
	t.Helper()
	c, err := OpenContext(dir, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func rels(srcs []Source) []string {
	out := []string{}
	for _, s := range srcs {
		r := s.Rel
		if s.Root != s.Rel {
			r = s.Root + ":" + s.Rel
		}
		out = append(out, r)
	}
	return out
}

var bfrontFiles = []string{
	"Dockerfile", "a.txt", "b.txt", "c.go", "src/main.go", "src/util/u.go", "src/util/u_test.go",
	"src/README.md", "docs/x.md", "docs/keep.md", "node_modules/m/index.js", "empty/",
	"dir with space/f", "link-in -> src/main.go", "link-out -> /etc/passwd", "link-dir -> src/util",
	"link-up -> ../../../../etc",
}

func TestBfrontSources(t *testing.T) {
	tests := []struct {
		name      string
		ignore    string // .dockerignore; "" none
		patterns  []string
		want      []string // Rel, "Root:Rel" below a root
		wantErr   string
		dockerfil string
	}{
		{name: "one file", patterns: []string{"a.txt"}, want: []string{"a.txt"}},
		{name: "leading slash and dots stay in the context", patterns: []string{"/src/../a.txt", "../../a.txt"}, want: []string{"a.txt", "a.txt"}},
		{name: "directory walked, sorted", patterns: []string{"src"}, want: []string{"src", "src:src/README.md", "src:src/main.go", "src:src/util", "src:src/util/u.go", "src:src/util/u_test.go"}},
		{name: "trailing slash", patterns: []string{"src/util/"}, want: []string{"src/util", "src/util:src/util/u.go", "src/util:src/util/u_test.go"}},
		{name: "context root", patterns: []string{"."}, ignore: "*\n!a.txt\n", want: []string{"", ":.dockerignore", ":Dockerfile", ":a.txt"}},
		{name: "empty directory", patterns: []string{"empty"}, want: []string{"empty"}},
		{name: "glob in the name", patterns: []string{"*.txt"}, want: []string{"a.txt", "b.txt"}},
		{name: "glob does not cross /", patterns: []string{"*.go"}, want: []string{"c.go"}},
		{name: "glob in a directory", patterns: []string{"s?c/*/*.go"}, want: []string{"src/util/u.go", "src/util/u_test.go"}},
		{name: "character class", patterns: []string{"[ab].txt"}, want: []string{"a.txt", "b.txt"}},
		{name: "glob matching a directory walks it", patterns: []string{"d*s"}, want: []string{"docs", "docs:docs/keep.md", "docs:docs/x.md"}},
		{name: "space in a name", patterns: []string{"dir with space"}, want: []string{"dir with space", "dir with space:dir with space/f"}},
		{name: "named symlink resolved inside the context", patterns: []string{"link-in"}, want: []string{"src/main.go"}},
		{name: "named directory symlink", patterns: []string{"link-dir"}, want: []string{"src/util", "src/util:src/util/u.go", "src/util:src/util/u_test.go"}},
		{name: "absolute link out resolves inside: not found", patterns: []string{"link-out"}, wantErr: "COPY failed: file not found in build context or excluded by .dockerignore: stat link-out: file does not exist"},
		{name: "link climbing out stops at the root", patterns: []string{"link-up"}, wantErr: "stat link-up: file does not exist"},
		{name: "glob through a directory link inside", patterns: []string{"link-dir/*.go"}, want: []string{"src/util/u.go", "src/util/u_test.go"}},
		{name: "glob through a link climbing out", patterns: []string{"link-up/*"}, wantErr: "COPY failed: no source files were specified"},
		{name: "glob whose match is a link out", patterns: []string{"link-o*"}, wantErr: "no source files were specified"},
		{name: "missing file", patterns: []string{"nope"}, wantErr: "COPY failed: file not found in build context or excluded by .dockerignore: stat nope: file does not exist"},
		{name: "glob matching nothing", patterns: []string{"*.rs"}, wantErr: "COPY failed: no source files were specified"},
		{name: "ignored file", ignore: "a.txt\n", patterns: []string{"a.txt"}, wantErr: "stat a.txt: file does not exist"},
		{name: "ignored files leave the walk", ignore: "**/*_test.go\nsrc/README.md\n", patterns: []string{"src"}, want: []string{"src", "src:src/main.go", "src:src/util", "src:src/util/u.go"}},
		{name: "ignored directory", ignore: "node_modules\n", patterns: []string{"."}, want: nil},
		{name: "exception re-includes below an ignored directory", ignore: "docs\n!docs/keep.md\n", patterns: []string{"docs"}, want: []string{"docs:docs/keep.md"}},
		{name: "exception with a wildcard directory", ignore: "src\n!*/util/u.go\n", patterns: []string{"src"}, want: []string{"src:src/util/u.go"}},
		{name: "leading / and ./ in .dockerignore", ignore: "/a.txt\n./src/util\n", patterns: []string{"*.txt", "src"}, want: []string{"b.txt", "src", "src:src/README.md", "src:src/main.go"}},
		{name: "later pattern wins", ignore: "*.txt\n!a.txt\n", patterns: []string{"*.txt"}, want: []string{"a.txt"}},
		{name: "glob skips ignored matches", ignore: "b.txt\n", patterns: []string{"*.txt"}, want: []string{"a.txt"}},
		{name: "comments and blank lines in .dockerignore", ignore: "# a.txt\n\n  b.txt  \n", patterns: []string{"a.txt", "*.txt"}, want: []string{"a.txt", "a.txt"}},
		{name: "Dockerfile and .dockerignore are never ignored", ignore: "*\n", patterns: []string{"Dockerfile", ".dockerignore"}, want: []string{"Dockerfile", ".dockerignore"}},
		{name: "symlinks in a walk are entries, not followed", patterns: []string{"."}, ignore: "*\n!link-*\n", want: []string{"", ":.dockerignore", ":Dockerfile", ":link-dir", ":link-in", ":link-out", ":link-up"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := bfrontFiles
			if tt.ignore != "" {
				files = append(files[:len(files):len(files)], ".dockerignore")
			}
			dir := bfrontTree(t, files...)
			if tt.ignore != "" {
				if err := os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte(tt.ignore), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := openTestContext(t, dir, filepath.Join(dir, "Dockerfile"))
			srcs, err := c.Sources(tt.patterns)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var nf *NotFoundError
				if !errors.As(err, &nf) {
					t.Errorf("%v is no *NotFoundError", err)
				}
				return
			}
			if tt.want == nil {
				// The whole context with node_modules ignored.
				for _, s := range srcs {
					if strings.HasPrefix(s.Rel, "node_modules") {
						t.Errorf("ignored %s is in the sources", s.Rel)
					}
				}
				if len(srcs) < 10 {
					t.Errorf("only %v", rels(srcs))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rels(srcs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			for _, s := range srcs {
				if s.Info == nil {
					t.Errorf("%s has no Info", s.Rel)
				}
			}
		})
	}
}

func TestBfrontDockerfileIgnoreFile(t *testing.T) {
	dir := bfrontTree(t, "a.txt", "b.txt", "sub/app.Dockerfile", ".dockerignore")
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("a.txt\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub/app.Dockerfile.dockerignore"), []byte("b.txt\n"), 0o644)
	tests := []struct {
		dockerfile string
		present    string
		ignored    string
	}{
		{filepath.Join(dir, "sub/app.Dockerfile"), "a.txt", "b.txt"}, // <Dockerfile>.dockerignore wins
		{"sub/app.Dockerfile", "a.txt", "b.txt"},                     // relative to the context
		{filepath.Join(dir, "Dockerfile"), "b.txt", "a.txt"},         // no own file: .dockerignore
		{"-", "b.txt", "a.txt"},                                      // from stdin
	}
	// -f relative to a working directory that is not the context.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "x.Dockerfile.dockerignore"), []byte("a.txt\nb.txt\n"), 0o644)
	t.Chdir(dir)
	for _, tt := range tests {
		t.Run(tt.dockerfile, func(t *testing.T) {
			c := openTestContext(t, dir, tt.dockerfile)
			if _, err := c.Sources([]string{tt.present}); err != nil {
				t.Errorf("%s: %v", tt.present, err)
			}
			if _, err := c.Sources([]string{tt.ignored}); err == nil {
				t.Errorf("%s is not ignored", tt.ignored)
			}
		})
	}
	t.Chdir(other)
	c := openTestContext(t, dir, "x.Dockerfile")
	if _, err := c.Sources([]string{"a.txt"}); err == nil {
		t.Error("x.Dockerfile.dockerignore in the working directory was not used")
	}
}

func TestBfrontBadIgnoreFile(t *testing.T) {
	dir := bfrontTree(t, "a")
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("[\n"), 0o644)
	if _, err := OpenContext(dir, ""); err == nil {
		t.Fatal("a bad pattern was accepted")
	}
	if _, err := OpenContext(filepath.Join(dir, "missing"), ""); err == nil {
		t.Fatal("a missing context was opened")
	}
}

func TestBfrontOpenStaysInContext(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("host secret"), 0o644)
	dir := bfrontTree(t, "f", "secret", "abs -> "+filepath.Join(outside, "secret"), "rel -> ../../"+filepath.Base(outside)+"/secret", "in -> f")
	os.WriteFile(filepath.Join(dir, "secret"), []byte("context secret"), 0o644)
	// Show the attack works on a plain open: both links reach the host file.
	if b, err := os.ReadFile(filepath.Join(dir, "abs")); err != nil || string(b) != "host secret" {
		t.Fatalf("the plain open does not follow the link out (%q, %v): the test proves nothing", b, err)
	}
	c := openTestContext(t, dir, "")
	for _, tt := range []struct{ rel, want string }{
		{"f", "content of f"}, {"in", "content of f"}, {"/f", "content of f"},
		{"abs", ""}, {"rel", ""}, {"../../f", "content of f"},
	} {
		f, err := c.Open(tt.rel)
		if err != nil {
			if tt.want != "" {
				t.Errorf("Open(%s): %v", tt.rel, err)
			}
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) == "host secret" {
			t.Errorf("Open(%s) read the host's file through a link out", tt.rel)
		} else if tt.want != "" && string(b) != tt.want {
			t.Errorf("Open(%s) = %q, want %q", tt.rel, b, tt.want)
		}
	}
}

func TestBfrontChecksum(t *testing.T) {
	dir := bfrontTree(t, "d/a", "d/b", "d/l -> a", "x")
	c := openTestContext(t, dir, "")
	sum := func() string {
		t.Helper()
		srcs, err := c.Sources([]string{"d"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Checksum(srcs)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := sum()
	if !strings.HasPrefix(first, "sha256:") || len(first) != len("sha256:")+64 {
		t.Fatalf("checksum %q", first)
	}
	if again := sum(); again != first {
		t.Fatalf("checksum not stable: %s then %s", first, again)
	}
	changes := []struct {
		name   string
		change func() error
		same   bool
	}{
		{"mtime", func() error {
			old := time.Now().Add(-time.Hour)
			return os.Chtimes(filepath.Join(dir, "d/a"), old, old)
		}, true},
		{"a file outside the sources", func() error { return os.WriteFile(filepath.Join(dir, "x"), []byte("other"), 0o644) }, true},
		{"content", func() error { return os.WriteFile(filepath.Join(dir, "d/a"), []byte("new"), 0o644) }, false},
		{"content, same size", func() error { return os.WriteFile(filepath.Join(dir, "d/a"), []byte("NEW"), 0o644) }, false},
		{"mode", func() error { return os.Chmod(filepath.Join(dir, "d/b"), 0o755) }, false},
		{"directory mode", func() error { return os.Chmod(filepath.Join(dir, "d"), 0o700) }, false},
		{"owner", func() error { return os.Lchown(filepath.Join(dir, "d/b"), 1234, 1234) }, false},
		{"link target", func() error {
			os.Remove(filepath.Join(dir, "d/l"))
			return os.Symlink("b", filepath.Join(dir, "d/l"))
		}, false},
		{"new file", func() error { return os.WriteFile(filepath.Join(dir, "d/c"), nil, 0o644) }, false},
		{"renamed file", func() error { return os.Rename(filepath.Join(dir, "d/c"), filepath.Join(dir, "d/c2")) }, false},
		{"newly ignored file", func() error { return os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("d/c2\n"), 0o644) }, false},
	}
	prev := first
	for _, ch := range changes {
		if ch.name == "owner" && os.Geteuid() != 0 {
			continue
		}
		if err := ch.change(); err != nil {
			t.Fatalf("%s: %v", ch.name, err)
		}
		if ch.name == "newly ignored file" {
			c = openTestContext(t, dir, "")
		}
		got := sum()
		if (got == prev) != ch.same {
			t.Errorf("after a change of %s the checksum changed: %v, want %v", ch.name, got != prev, !ch.same)
		}
		prev = got
	}
}

func TestBfrontSumCache(t *testing.T) {
	defer func(w time.Duration) { racyWindow = w }(racyWindow)
	racyWindow = 0
	dir := bfrontTree(t, "d/a", "d/b")
	cachePath := filepath.Join(t.TempDir(), "sums")
	checksum := func(sums *SumCache) string {
		t.Helper()
		c := openTestContext(t, dir, "")
		c.Sums = sums
		srcs, err := c.Sources([]string{"d"})
		if err != nil {
			t.Fatal(err)
		}
		s, err := c.Checksum(srcs)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plain := checksum(nil)
	sums := LoadSumCache(cachePath) // missing: empty
	if got := checksum(sums); got != plain {
		t.Fatalf("with a cache %s, without %s", got, plain)
	}
	if len(sums.sums) != 2 {
		t.Fatalf("cache holds %d sums, want 2", len(sums.sums))
	}
	if err := sums.Save(cachePath); err != nil {
		t.Fatal(err)
	}
	loaded := LoadSumCache(cachePath)
	if !reflect.DeepEqual(keysOf(loaded), keysOf(sums)) {
		t.Fatalf("loaded %v, saved %v", keysOf(loaded), keysOf(sums))
	}
	// A remembered sum is used: plant a wrong one for d/a's stat.
	info, _ := os.Lstat(filepath.Join(dir, "d/a"))
	k, _ := sumKeyOf(info)
	loaded.sums[k] = sumEntry{}
	if got := checksum(loaded); got == plain {
		t.Fatal("the cache was not consulted")
	}
	// Same size, mtime put back: the ctime still tells the change.
	a := filepath.Join(dir, "d/a")
	if err := os.WriteFile(a, []byte("CONTENT OF d/a"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(a, info.ModTime(), info.ModTime())
	if got := checksum(sums); got == plain || got != checksum(nil) {
		t.Errorf("changed content, same size and mtime: %s (before %s, uncached %s)", got, plain, checksum(nil))
	}
	// Recent ctimes are not remembered (racy).
	racyWindow = time.Hour
	fresh := NewSumCache()
	checksum(fresh)
	if len(fresh.sums) != 0 {
		t.Errorf("remembered %d sums of files changed just now", len(fresh.sums))
	}
	// A corrupt file is an empty cache.
	os.WriteFile(cachePath, []byte("garbage"), 0o644)
	if c := LoadSumCache(cachePath); len(c.sums) != 0 {
		t.Errorf("garbage loaded as %d sums", len(c.sums))
	}
}

func keysOf(c *SumCache) map[sumKey][32]byte {
	m := map[sumKey][32]byte{}
	for k, e := range c.sums {
		m[k] = e.sum
	}
	return m
}

// An entry swapped after the walk (a FIFO would block the build, a link
// would be read through) fails the checksum instead.
func TestBfrontChecksumSwappedEntry(t *testing.T) {
	for _, swap := range []string{"fifo", "symlink"} {
		t.Run(swap, func(t *testing.T) {
			dir := bfrontTree(t, "f", "other")
			c := openTestContext(t, dir, "")
			srcs, err := c.Sources([]string{"f"})
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, "f")
			os.Remove(f)
			if swap == "fifo" {
				err = unix.Mkfifo(f, 0o644)
			} else {
				err = os.Symlink("other", f)
			}
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { _, err := c.Checksum(srcs); done <- err }()
			select {
			case err := <-done:
				if err == nil {
					t.Error("checksum of a swapped entry succeeded")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("checksum blocked on a FIFO")
			}
		})
	}
}

// The walk's fstatat infos say what os.Lstat says.
func TestBfrontStatInfoAsLstat(t *testing.T) {
	dir := bfrontTree(t, "d/f", "d/l -> f", "d/sub/")
	unix.Mkfifo(filepath.Join(dir, "d/p"), 0o600)
	os.Chmod(filepath.Join(dir, "d/sub"), 0o1755|os.ModeSticky)
	os.Chmod(filepath.Join(dir, "d/f"), 0o4750|os.ModeSetuid)
	os.Lchown(filepath.Join(dir, "d/f"), 12, 34)
	c := openTestContext(t, dir, "")
	srcs, err := c.Sources([]string{"d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 5 {
		t.Fatalf("sources %q", rels(srcs))
	}
	for _, s := range srcs {
		want, err := os.Lstat(filepath.Join(dir, s.Rel))
		if err != nil {
			t.Fatal(err)
		}
		got := s.Info
		// Reading a directory moves its atime between the two stats.
		gotSys, wantSys := *got.Sys().(*syscall.Stat_t), *want.Sys().(*syscall.Stat_t)
		gotSys.Atim, wantSys.Atim = syscall.Timespec{}, syscall.Timespec{}
		if got.Name() != want.Name() || got.Mode() != want.Mode() || got.Size() != want.Size() ||
			!got.ModTime().Equal(want.ModTime()) || got.IsDir() != want.IsDir() || gotSys != wantSys {
			t.Errorf("%s: got %s %v %d %v, Lstat %s %v %d %v", s.Rel, got.Name(), got.Mode(), got.Size(), got.ModTime(),
				want.Name(), want.Mode(), want.Size(), want.ModTime())
		}
	}
}
