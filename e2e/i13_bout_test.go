package e2e

// skiff build (issue 13, outputs and reproducibility): --output to a
// directory and a tar.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// i13boutServer serves files (path -> content, changeable by the test)
// on 127.0.0.1 and counts the requests of each path.
type i13boutServer struct {
	mu    sync.Mutex
	files map[string]string
	hits  map[string]int
	url   string
}

func i13boutServe(t *testing.T, files map[string]string) *i13boutServer {
	t.Helper()
	s := &i13boutServer{files: files, hits: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.hits[r.URL.Path]++
		content, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
		io.WriteString(w, content)
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *i13boutServer) set(path, content string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = content
}

func (s *i13boutServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func i13boutSum(content string) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(content)))
}

// ADD of a URL: downloaded on every build, the cache hit only while the
// content stays the same; the file is 0600, named from the URL in a
// directory, its mtime the server's Last-Modified.
func TestI13BoutAddURL(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	srv := i13boutServe(t, map[string]string{"/files/hello.txt": "version one\n"})
	u := srv.url + "/files/hello.txt"
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nADD %s /dl/\nADD %s /named\n", fx.busybox, u, u),
	})
	st.i12bexecBuild(t, "-t", "bout-url", dir)
	if got := st.i12bexecOut(t, "run", "--rm", "bout-url", "stat", "-c", "%a %s %Y %n", "/dl/hello.txt", "/named"); got != "600 12 1445412480 /dl/hello.txt\n600 12 1445412480 /named" {
		t.Errorf("the downloaded files: %q", got)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bout-url", "cat", "/named"); got != "version one" {
		t.Errorf("/named holds %q", got)
	}
	before := srv.count("/files/hello.txt")
	r := st.i12bexecBuild(t, "-t", "bout-url", dir)
	if srv.count("/files/hello.txt") != before+2 || strings.Count(r.stdout, "Using cache") != 2 {
		t.Errorf("a rebuild downloads again (%d requests, want %d) and hits the cache:\n%s", srv.count("/files/hello.txt"), before+2, r.stdout)
	}
	srv.set("/files/hello.txt", "version two\n")
	r = st.i12bexecBuild(t, "-t", "bout-url", dir)
	if strings.Contains(r.stdout, "Using cache") {
		t.Errorf("changed content still hits the cache:\n%s", r.stdout)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bout-url", "cat", "/named"); got != "version two" {
		t.Errorf("/named holds %q after the change", got)
	}
}

// ADD --checksum verifies the download, and its cache hit downloads
// nothing; a wrong checksum fails with BuildKit's words. COPY of a URL and
// ADD of a git URL are refused.
func TestI13BoutAddChecksum(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	const content = "pinned\n"
	srv := i13boutServe(t, map[string]string{"/pinned.txt": content})
	u := srv.url + "/pinned.txt"
	good := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nADD --checksum=%s %s /\n", fx.busybox, i13boutSum(content), u),
	})
	st.i12bexecBuild(t, "-t", "bout-sum", good)
	if got := st.i12bexecOut(t, "run", "--rm", "bout-sum", "cat", "/pinned.txt"); got != "pinned" {
		t.Errorf("/pinned.txt holds %q", got)
	}
	before := srv.count("/pinned.txt")
	r := st.i12bexecBuild(t, "-t", "bout-sum", good)
	if srv.count("/pinned.txt") != before || !strings.Contains(r.stdout, "Using cache") {
		t.Errorf("a rebuild with --checksum downloads (%d requests, want %d) or misses the cache:\n%s", srv.count("/pinned.txt"), before, r.stdout)
	}
	wrong := i13boutSum("something else")
	for _, tt := range []struct{ dockerfile, want string }{
		{fmt.Sprintf("ADD --checksum=%s %s /", wrong, u), fmt.Sprintf("digest mismatch %s: %s", i13boutSum(content), wrong)},
		{"COPY " + u + " /", "source can't be a URL for COPY"},
		{"ADD https://github.com/moby/moby.git /src", "not supported yet"},
		{"ADD --checksum=" + wrong + " a.txt /", "checksum requires HTTP(S) or Git sources"},
	} {
		dir := i12bexecContext(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\n%s\n", fx.busybox, tt.dockerfile), "a.txt": "a"})
		r := st.skiff(nil, "build", dir)
		if r.code != 1 || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: want exit 1 and %q, got %v", tt.dockerfile, tt.want, r)
		}
	}
}

// A build context from an http URL of a tar (and of a bare Dockerfile).
func TestI13BoutURLContext(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	tarball := i12bexecTar(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nCOPY data.txt /data.txt\n", fx.busybox),
		"data.txt":   "from a remote context\n",
	})
	srv := i13boutServe(t, map[string]string{
		"/ctx.tar":    tarball,
		"/Dockerfile": fmt.Sprintf("FROM %s\nRUN echo bare-dockerfile > /bare\n", fx.busybox),
	})
	st.i12bexecBuild(t, "-t", "bout-ctx", srv.url+"/ctx.tar")
	if got := st.i12bexecOut(t, "run", "--rm", "bout-ctx", "cat", "/data.txt"); got != "from a remote context" {
		t.Errorf("/data.txt holds %q", got)
	}
	st.i12bexecBuild(t, "-t", "bout-bare", srv.url+"/Dockerfile")
	if got := st.i12bexecOut(t, "run", "--rm", "bout-bare", "cat", "/bare"); got != "bare-dockerfile" {
		t.Errorf("/bare holds %q", got)
	}
	r := st.skiff(nil, "build", srv.url+"/missing.tar")
	if r.code != 1 || !strings.Contains(r.stderr, "unable to prepare context: unable to download remote context") {
		t.Errorf("a missing remote context: %v", r)
	}
}
