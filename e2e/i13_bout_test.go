package e2e

// skiff build (issue 13, outputs and reproducibility): --output to a
// directory and a tar.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// i13boutTarFiles reads a tar's regular files (name -> content).
func i13boutTarFiles(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	files := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("read the tar: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			files[strings.TrimPrefix(h.Name, "./")] = string(b)
		}
	}
}

// --output exports the final stage's filesystem: a directory (type=local
// and the bare -o DIR), a tar file, a tar on stdout (progress on stderr);
// with -t the image is tagged too, without it nothing is tagged.
func TestI13BoutOutput(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s AS base\nRUN mkdir /out && echo made-by-run > /out/run.txt\nFROM scratch\nCOPY --from=base /out/ /\nCOPY a.txt /sub/a.txt\n", fx.busybox),
		"a.txt":      "from the context\n",
	})
	want := map[string]string{"run.txt": "made-by-run\n", "sub/a.txt": "from the context\n"}
	out := t.TempDir()
	for _, tt := range []struct{ name, flag, dest string }{
		{"local", "type=local,dest=", filepath.Join(out, "local")},
		{"bare", "", filepath.Join(out, "bare")},
	} {
		st.i12bexecBuild(t, "-o", tt.flag+tt.dest, dir)
		for name, content := range want {
			b, err := os.ReadFile(filepath.Join(tt.dest, name))
			if err != nil || string(b) != content {
				t.Errorf("%s: %s holds %q (%v), want %q", tt.name, name, b, err, content)
			}
		}
	}
	tarPath := filepath.Join(out, "fs.tar")
	st.i12bexecBuild(t, "-t", "bout-out", "--output", "type=tar,dest="+tarPath, dir)
	f, err := os.Open(tarPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := i13boutTarFiles(t, f); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the tar holds %v, want %v", got, want)
	}
	if got := st.i12bexecOut(t, "image", "inspect", "--format", "{{len .RootFS.Layers}}", "bout-out"); got != "2" {
		t.Errorf("-t with --output: the tagged image has %s layers, want 2", got)
	}
	r := st.i12bexecBuild(t, "-o", "-", dir)
	if got := i13boutTarFiles(t, bytes.NewReader([]byte(r.stdout))); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("-o -: stdout's tar holds %v, want %v", got, want)
	}
	if !strings.Contains(r.stderr, "Step 1/5") {
		t.Errorf("-o -: the progress is not on stderr: %q", r.stderr)
	}
	for _, bad := range []struct{ flag, msg string }{
		{"type=tar", "output file is required for tar exporter. refusing to write to console"},
		{"dest=x,dest=y", "type is required for output"},
		{"type=local", "output directory is required for local exporter"},
	} {
		r := st.skiff(nil, "build", "-o", bad.flag, dir)
		if r.code != 1 || !strings.Contains(r.stderr, "skiff: "+bad.msg) {
			t.Errorf("-o %s: want exit 1 and %q, got %v", bad.flag, bad.msg, r)
		}
	}
}

// i13boutID builds dir and returns the image id (--no-cache: every step
// runs again, as a build from scratch would).
func (s *store) i13boutID(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := s.skiffEnv(nil, env, append([]string{"build", "-q", "--no-cache"}, args...)...)
	if r.code != 0 {
		t.Fatalf("skiff build %s: %v", strings.Join(args, " "), r)
	}
	return strings.TrimSpace(r.stdout)
}

// With SOURCE_DATE_EPOCH (environment or --build-arg) two builds of the
// same context from scratch, files touched in between, give the same
// image: created times set to the epoch, layer mtimes clamped. Without it
// they differ.
func TestI13BoutSourceDateEpoch(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN mkdir /made && echo run > /made/f\nCOPY a.txt /copied/a.txt\nWORKDIR /new/dir\nENV K=v\n", fx.busybox),
		"a.txt":      "context file\n",
	})
	touch := func() {
		now := time.Now()
		if err := os.Chtimes(filepath.Join(dir, "a.txt"), now, now); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // every mtime a RUN writes moves on
	}
	first := st.i13boutID(t, []string{"SOURCE_DATE_EPOCH=1600000000"}, dir)
	touch()
	second := st.i13boutID(t, nil, "--build-arg", "SOURCE_DATE_EPOCH=1600000000", dir)
	if first != second {
		t.Errorf("SOURCE_DATE_EPOCH: two builds give %s and %s", first, second)
	}
	if got := st.i12bexecOut(t, "image", "inspect", "--format", "{{.Created}}", second); !strings.HasPrefix(got, "2020-09-13T12:26:40") {
		t.Errorf("created %s, want the epoch 2020-09-13T12:26:40Z", got)
	}
	touch()
	if third := st.i13boutID(t, nil, dir); third == second {
		t.Errorf("without SOURCE_DATE_EPOCH the build still gives %s", third)
	}
	r := st.skiff(nil, "build", "--build-arg", "SOURCE_DATE_EPOCH=soon", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "skiff: invalid SOURCE_DATE_EPOCH: soon") {
		t.Errorf("a bad SOURCE_DATE_EPOCH: %v", r)
	}
}
