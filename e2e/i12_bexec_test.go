package e2e

// skiff build (issue 12): real builds on the test registry's busybox,
// every effect checked by running or inspecting the result.

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	skiffstore "github.com/skiff-dev/skiff/store"
)

// i12bexecContext writes files (name -> content; a name ending in "/" is
// a directory) into a new context directory.
func i12bexecContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// i12bexecTar is a tar of the given files, for ADD.
func i12bexecTar(t *testing.T, files map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o640, Size: int64(len(content)), Typeflag: tar.TypeReg, Uid: 7, Gid: 8})
		tw.Write([]byte(content))
	}
	tw.Close()
	return b.String()
}

// i12bexecBuild runs skiff build and fails the test unless it succeeds.
func (s *store) i12bexecBuild(t *testing.T, args ...string) result {
	t.Helper()
	r := s.skiff(nil, append([]string{"build"}, args...)...)
	if r.code != 0 {
		t.Fatalf("skiff build %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// i12bexecLayers counts the store's layers, for "no layer was made".
func (s *store) i12bexecLayers(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.root, "layers"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// i12bexecBuildContainers lists what build containers exist.
func (s *store) i12bexecBuildContainers(t *testing.T) []string {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(s.root, "build", "containers"))
	var ids []string
	for _, e := range ents {
		ids = append(ids, e.Name())
	}
	return ids
}

func (s *store) i12bexecOut(t *testing.T, args ...string) string {
	t.Helper()
	return strings.TrimSpace(s.must(t, args...).stdout)
}

// TestI12BexecMultiStage builds a two-stage Dockerfile with every
// instruction and checks each effect on the result.
func TestI12BexecMultiStage(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	ctxDir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf(`ARG BASE=%s
FROM $BASE AS builder
ARG GREETING=hello
RUN mkdir -p /out && echo "$GREETING from builder" > /out/greeting && echo built-output
RUN <<EOF
echo heredoc-ran > /out/heredoc
EOF
RUN <<EOF
#!/bin/busybox sh
echo "shebang-$0" > /out/shebang
EOF
COPY app/ /src/
RUN cp -r /src /out/src
ARG SHADOW=arg
ENV SHADOW=env
RUN echo "$SHADOW" > /out/shadow

FROM %s
LABEL org.example.name="bexec test" version=1
EXPOSE 8080 53/udp
ENV APP_HOME=/app MODE=prod
WORKDIR $APP_HOME
COPY --from=builder /out/ ./
COPY --chown=7:8 --chmod=640 app/a.txt owned.txt
ADD bundle.tar /bundle/
RUN echo doomed > /doomed && rm /bin/sed
RUN rm /doomed
USER 1000:1000
VOLUME /data
SHELL ["/bin/sh", "-c"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s CMD true
ENTRYPOINT ["/bin/sh", "-c", "echo entry:$0:$MODE:$(pwd):$(id -u)"]
CMD ["cmdarg"]
`, fx.busybox, fx.busybox),
		"app/a.txt":     "file a\n",
		"app/sub/b.txt": "file b\n",
		"bundle.tar":    i12bexecTar(t, map[string]string{"inner/x.txt": "from tar\n"}),
	})
	r := st.i12bexecBuild(t, "-t", "bexec-multi:v1", ctxDir)
	for _, want := range []string{"Step 1/", " : FROM ", " ---> Running in ", "built-output", "Successfully built ", "Successfully tagged bexec-multi:v1"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("build output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := strings.Count(r.stdout, "Step "); n != 28 {
		t.Errorf("%d steps printed, want 28:\n%s", n, r.stdout)
	}
	if !regexp.MustCompile(`(?m)^Step 28/28 : CMD \["cmdarg"\]$`).MatchString(r.stdout) {
		t.Errorf("no Step 28/28 line:\n%s", r.stdout)
	}
	// ENTRYPOINT, CMD, ENV, WORKDIR, USER in one run.
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-multi:v1"); got != "entry:cmdarg:prod:/app:1000" {
		t.Errorf("run = %q, want entry:cmdarg:prod:/app:1000", got)
	}
	cat := func(args ...string) string {
		return st.i12bexecOut(t, append([]string{"run", "--rm", "-u", "0", "--entrypoint", "/bin/sh", "bexec-multi:v1", "-c"}, args...)...)
	}
	checks := []struct{ cmd, want string }{
		{"cat greeting", "hello from builder"},
		{"cat heredoc", "heredoc-ran"},
		{"cat shebang", "shebang-/dev/pipes/EOF"}, // run by its own interpreter
		{"cat shadow", "env"},                     // in a RUN, ENV wins over an ARG of the same name
		{"cat src/a.txt src/sub/b.txt", "file a\nfile b"},
		{"stat -c '%u:%g %a' owned.txt", "7:8 640"},
		{"cat /bundle/inner/x.txt", "from tar"},
		{"stat -c '%u:%g' /bundle/inner/x.txt", "7:8"},
		{"test -e /doomed && echo present || echo gone", "gone"},
		{"test -e /bin/sed && echo present || echo gone", "gone"},
		{"ls /bundle", "inner"},
	}
	for _, c := range checks {
		if got := cat(c.cmd); got != c.want {
			t.Errorf("%s = %q, want %q", c.cmd, got, c.want)
		}
	}
	f := `{{json .Config.ExposedPorts}} {{json .Config.Labels}} {{.Config.StopSignal}} {{json .Config.Volumes}} {{json .Config.Healthcheck.Test}} {{.Config.User}}`
	got := st.i12bexecOut(t, "image", "inspect", "--format", f, "bexec-multi:v1")
	want := `{"53/udp":{},"8080/tcp":{}} {"org.example.name":"bexec test","version":"1"} SIGUSR1 {"/data":{}} ["CMD-SHELL","true"] 1000:1000`
	if got != want {
		t.Errorf("inspect:\n got %s\nwant %s", got, want)
	}
	// Metadata steps make no layer: busybox's, WORKDIR making /app (as
	// docker's classic builder), COPY x2, ADD, RUN x2.
	layers := st.i12bexecOut(t, "image", "inspect", "--format", "{{len .RootFS.Layers}}", "bexec-multi:v1")
	if layers != "7" {
		t.Errorf("%s layers, want 7", layers)
	}
	if ids := st.i12bexecBuildContainers(t); len(ids) != 0 {
		t.Errorf("build containers left: %v", ids)
	}
	if ps := st.i12bexecOut(t, "ps", "-aq"); ps != "" {
		t.Errorf("ps -a shows %q after a build", ps)
	}
}

// TestI12BexecCache: a rebuild with nothing changed runs nothing and
// makes no layer; a changed file, mode, ARG or .dockerignore, and
// --no-cache, miss.
func TestI12BexecCache(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	ctxDir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nARG V=1\nCOPY . /ctx/\nRUN echo run-$V > /v\nENV E=1\nCMD [\"cat\", \"/v\"]\n", fx.busybox),
		"data.txt":   "one\n",
		"other.txt":  "other\n",
	})
	st.i12bexecBuild(t, "-t", "bexec-cache", ctxDir)
	layers := st.i12bexecLayers(t)
	r := st.i12bexecBuild(t, "-t", "bexec-cache", ctxDir)
	if strings.Count(r.stdout, " ---> Using cache") != 5 || strings.Contains(r.stdout, "Running in") {
		t.Errorf("rebuild with nothing changed did not take every step from the cache:\n%s", r.stdout)
	}
	if n := st.i12bexecLayers(t); n != layers {
		t.Errorf("rebuild made layers: %d -> %d", layers, n)
	}
	// Which steps miss after each change: COPY is step 3, RUN step 4.
	cases := []struct {
		name   string
		change func()
		args   []string
		cached int // steps 2.. taken from the cache
	}{
		{"changed file", func() { os.WriteFile(filepath.Join(ctxDir, "data.txt"), []byte("two\n"), 0o644) }, nil, 1},
		{"changed mode", func() { os.Chmod(filepath.Join(ctxDir, "data.txt"), 0o600) }, nil, 1},
		{"changed ARG", func() {}, []string{"--build-arg", "V=2"}, 2},
		{"--no-cache", func() {}, []string{"--no-cache", "--build-arg", "V=2"}, 0},
		{"changed .dockerignore", func() { os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte("other.txt\n"), 0o644) }, []string{"--build-arg", "V=2"}, 1},
		{"mtime only", func() {
			now := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(ctxDir, "data.txt"), now, now)
		}, []string{"--build-arg", "V=2"}, 5},
	}
	for _, c := range cases {
		c.change()
		r := st.i12bexecBuild(t, append(append([]string{"-t", "bexec-cache"}, c.args...), ctxDir)...)
		if got := strings.Count(r.stdout, " ---> Using cache"); got != c.cached {
			t.Errorf("%s: %d steps from the cache, want %d:\n%s", c.name, got, c.cached, r.stdout)
		}
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-cache"); got != "run-2" {
		t.Errorf("ARG V=2 gave %q", got)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-cache", "ls", "/ctx"); strings.Contains(got, "other.txt") {
		t.Errorf(".dockerignore'd file copied: %q", got)
	}
	// Intermediate images are hidden from images, shown with -a.
	plain := strings.Count(st.i12bexecOut(t, "images", "-q"), "\n")
	all := strings.Count(st.i12bexecOut(t, "images", "-aq"), "\n")
	if all <= plain {
		t.Errorf("images -a shows %d lines, images %d: intermediate images not hidden", all+1, plain+1)
	}
}

// TestI12BexecTarget builds only the stages --target needs.
func TestI12BexecTarget(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	ctxDir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s AS one\nRUN echo one > /stage\nFROM %s AS two\nRUN echo two > /stage && echo two-ran\nFROM one AS three\nRUN echo three-ran\n", fx.busybox, fx.busybox),
	})
	r := st.i12bexecBuild(t, "--target", "one", "-t", "bexec-target", ctxDir)
	if strings.Contains(r.stdout, "two-ran") || strings.Contains(r.stdout, "three-ran") {
		t.Errorf("--target one ran other stages:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Step 2/2 : RUN echo one > /stage") {
		t.Errorf("want 2 steps:\n%s", r.stdout)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-target", "cat", "/stage"); got != "one" {
		t.Errorf("--target one built %q", got)
	}
	r = st.i12bexecBuild(t, "-t", "bexec-target", ctxDir)
	if strings.Contains(r.stdout, "two-ran") {
		t.Errorf("the last stage's build ran stage two, which it does not need:\n%s", r.stdout)
	}
}

// TestI12BexecErrors: a bad Dockerfile and a failing RUN are one line,
// exit 1, and nothing is tagged or left behind.
func TestI12BexecErrors(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	cases := []struct {
		name, dockerfile, want string
	}{
		{"unknown instruction", "FROM " + fx.busybox + "\nFROBNICATE x\n", "Dockerfile:2: unknown instruction: FROBNICATE"},
		{"failing RUN", "FROM " + fx.busybox + "\nRUN echo partial > /p\nRUN exit 3\n", "step 3/3: The command '/bin/sh -c exit 3' returned a non-zero code: 3"},
		{"missing source", "FROM " + fx.busybox + "\nCOPY nothere /x\n", "nothere"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := i12bexecContext(t, map[string]string{"Dockerfile": c.dockerfile})
			r := st.skiff(nil, "build", "-t", "bexec-bad", dir)
			oneLineError(t, r, 1)
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("stderr %q lacks %q", r.stderr, c.want)
			}
			if !strings.HasPrefix(r.stderr, "skiff: ") || strings.Count(r.stderr, "skiff:") != 1 {
				t.Errorf("stderr %q: want one skiff: prefix", r.stderr)
			}
			if r := st.skiff(nil, "image", "inspect", "bexec-bad"); r.code == 0 {
				t.Errorf("a failed build tagged its result")
			}
			if ids := st.i12bexecBuildContainers(t); len(ids) != 0 {
				t.Errorf("build containers left: %v", ids)
			}
		})
	}
}

// TestI12BexecInterrupt: ctrl-c during a RUN removes the build
// container, its process and cgroup, and tags nothing; a kill -9 leaves
// them for the next skiff command to remove.
func TestI12BexecInterrupt(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	for _, tt := range []struct {
		sig   syscall.Signal
		stdin bool // the context as a tar on stdin, extracted under the store
	}{{syscall.SIGINT, false}, {syscall.SIGKILL, false}, {syscall.SIGINT, true}, {syscall.SIGKILL, true}} {
		sig := tt.sig
		t.Run(fmt.Sprintf("%s stdin=%v", sig, tt.stdin), func(t *testing.T) {
			files := map[string]string{
				"Dockerfile": fmt.Sprintf("FROM %s\nRUN echo sta\"\"rted-%d && sleep 1000\n", fx.busybox, sig),
			}
			cmd := st.cmd(t.Context(), "build", "-t", "bexec-intr", i12bexecContext(t, files))
			if tt.stdin {
				cmd = st.cmd(t.Context(), "build", "-t", "bexec-intr", "-")
				cmd.Stdin = strings.NewReader(i12bexecTar(t, files))
			}
			var out bytes.Buffer
			pr, pw, _ := os.Pipe()
			cmd.Stdout, cmd.Stderr = pw, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			i12bexecWaitFor(t, pr, "started-")
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			pr.Close()
			var ee *exec.ExitError
			if !i12bexecErrorsAs(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("interrupted build exited %v", err)
			}
			if sig == syscall.SIGKILL {
				if len(st.i12bexecBuildContainers(t)) == 0 {
					t.Fatalf("kill -9 left no build container: the test proves nothing")
				}
				st.must(t, "ps") // the next command cleans up
			}
			if ids := st.i12bexecBuildContainers(t); len(ids) != 0 {
				t.Errorf("build containers left: %v", ids)
			}
			if procs := st.i12bexecSleepers(); len(procs) != 0 {
				t.Errorf("the RUN's processes live on: %v", procs)
			}
			if r := st.skiff(nil, "image", "inspect", "bexec-intr"); r.code == 0 {
				t.Errorf("an interrupted build tagged its result")
			}
			if m := st.mountsUnder(); len(m) != 0 {
				t.Errorf("mounts left: %v", m)
			}
			if left, _ := filepath.Glob(filepath.Join(st.root, "build", "tmp", "*")); len(left) != 0 {
				t.Errorf("the stdin context is left: %v", left)
			}
		})
	}
}

// i12bexecWaitFor reads r until it has seen want (10 s at most).
func i12bexecWaitFor(t *testing.T, r *os.File, want string) {
	t.Helper()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	var seen []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(seen, []byte(want)) {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if err != nil {
			t.Fatalf("waiting for %q: %v; read %q", want, err, seen)
		}
	}
	go func() { // keep draining so the build never blocks on its output
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
}

// i12bexecSleepers are processes running "sleep 1000" (the RUN's).
func (s *store) i12bexecSleepers() []int {
	var pids []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids = pids[:0]
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			if err == nil && string(b) == "sleep\x001000\x00" {
				var pid int
				fmt.Sscan(e.Name(), &pid)
				pids = append(pids, pid)
			}
		}
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestI12BexecStdinAndQuiet: a Dockerfile from stdin (build -), a tar
// context from stdin, -q printing only the id, --iidfile and --label.
func TestI12BexecStdinAndQuiet(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	df := fmt.Sprintf("FROM %s\nRUN echo quiet-run\n", fx.busybox)
	r := st.skiff(strings.NewReader(df), "build", "-q", "--label", "k=v", "-")
	if r.code != 0 || !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(r.stdout) {
		t.Fatalf("build -q -: %v", r)
	}
	id := strings.TrimSpace(r.stdout)
	if got := st.i12bexecOut(t, "image", "inspect", "--format", "{{.Config.Labels.k}}", id); got != "v" {
		t.Errorf("--label k=v gave %q", got)
	}
	tarCtx := i12bexecTar(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nCOPY f /f\n", fx.busybox),
		"f":          "from tar context\n",
	})
	iid := filepath.Join(t.TempDir(), "iid")
	r = st.skiff(strings.NewReader(tarCtx), "build", "--iidfile", iid, "-t", "bexec-stdin", "-")
	if r.code != 0 {
		t.Fatalf("build - (tar): %v", r)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-stdin", "cat", "/f"); got != "from tar context" {
		t.Errorf("tar context: /f = %q", got)
	}
	b, _ := os.ReadFile(iid)
	want := st.i12bexecOut(t, "image", "inspect", "--format", "{{.Id}}", "bexec-stdin")
	if string(b) != want {
		t.Errorf("--iidfile has %q, want %q", b, want)
	}
}

func i12bexecErrorsAs(err error, target **exec.ExitError) bool {
	ee, ok := err.(*exec.ExitError)
	if ok {
		*target = ee
	}
	return ok
}

// TestI12BexecCopyRules: docker's rules for COPY destinations, directory
// sources, globs, WORKDIR-relative paths, links and --from an image.
func TestI12BexecCopyRules(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	ctxDir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf(`FROM %s
RUN mkdir -m 1777 /sticky && ln -s ../sticky /lnk
COPY a.txt /lnk/sub/
COPY a.txt /d1/
COPY a.txt /f1
COPY a.txt /etc
COPY dir /d2
COPY dir/ /d3/
COPY *.txt /d4/
WORKDIR /w
COPY a.txt rel
COPY link /l
COPY --from=%s /bin/busybox /bb
ENV WHO=bexec
COPY <<EOT /here.txt
inline $WHO
EOT
`, fx.busybox, fx.busybox),
		"a.txt":       "a\n",
		"c.txt":       "c\n",
		"dir/b.txt":   "b\n",
		"dir/sub/e.x": "e\n",
	})
	for link, target := range map[string]string{"link": "a.txt", "dir/ln": "b.txt"} {
		if err := os.Symlink(target, filepath.Join(ctxDir, link)); err != nil {
			t.Fatal(err)
		}
	}
	st.i12bexecBuild(t, "-t", "bexec-copy", ctxDir)
	cases := []struct{ cmd, want string }{
		{"cat /d1/a.txt", "a"},
		{"test -f /f1 && cat /f1", "a"},
		{"cat /etc/a.txt", "a"},
		{"cat /d2/b.txt /d2/sub/e.x; test -e /d2/dir && echo nested || true", "b\ne"},
		{"cat /d3/b.txt", "b"},
		{"ls /d4", "a.txt\nc.txt"},
		{"cat /w/rel", "a"},
		{"test -L /l || cat /l", "a"}, // a source link is followed, as docker's
		{"readlink /d2/ln", "b.txt"},  // a link inside a directory stays one
		{"test -x /bb && echo exec", "exec"},
		{"cat /here.txt", "inline bexec"},
		{"stat -c %u:%g /d1/a.txt", "0:0"},
		// A destination through a link lands where the link points, the
		// link and the directories on the way unchanged.
		{"cat /sticky/sub/a.txt; readlink /lnk; stat -c %a /sticky", "a\n../sticky\n1777"},
	}
	for _, c := range cases {
		if got := st.i12bexecOut(t, "run", "--rm", "bexec-copy", "sh", "-c", c.cmd); got != c.want {
			t.Errorf("%s = %q, want %q", c.cmd, got, c.want)
		}
	}
	bad := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nCOPY a.txt c.txt /nodir\n", fx.busybox),
		"a.txt":      "a", "c.txt": "c",
	})
	r := st.skiff(nil, "build", bad)
	oneLineError(t, r, 1)
	if !strings.Contains(r.stderr, "the destination must be a directory and end with a /") {
		t.Errorf("several sources to a file: %q", r.stderr)
	}
}

// i12bexecImage is a built image as go-containerregistry sees it, read
// from the store's blobs (manifest, config, compressed layers).
type i12bexecImage struct {
	s                *skiffstore.Store
	manifest, config []byte
}

func (i *i12bexecImage) RawConfigFile() ([]byte, error) { return i.config, nil }
func (i *i12bexecImage) RawManifest() ([]byte, error)   { return i.manifest, nil }
func (i *i12bexecImage) MediaType() (types.MediaType, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return "", err
	}
	return m.MediaType, nil
}

func (i *i12bexecImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &i12bexecLayer{path: i.s.BlobPath(h.String()), desc: l}, nil
		}
	}
	return nil, fmt.Errorf("no layer %s", h)
}

type i12bexecLayer struct {
	path string
	desc v1.Descriptor
}

func (l *i12bexecLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *i12bexecLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *i12bexecLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *i12bexecLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// TestI12BexecValidate: a built image (layers and empty_layer history)
// passes go-containerregistry's validate.
func TestI12BexecValidate(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nENV A=1\nCOPY f /f\nRUN rm /bin/sed && echo x > /x\nCMD [\"cat\", \"/f\"]\n", fx.busybox),
		"f":          "f\n",
	})
	st.i12bexecBuild(t, "-t", "bexec-valid", dir)
	vi := st.i12bexecStoredImage(t, "docker.io/library/bexec-valid:latest")
	if err := validate.Image(vi); err != nil {
		t.Errorf("validate: %v", err)
	}
	cf, _ := vi.ConfigFile()
	empty := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			empty++
		}
	}
	if layers := len(cf.RootFS.DiffIDs); len(cf.History)-empty != layers {
		t.Errorf("%d history entries with a layer, %d layers", len(cf.History)-empty, layers)
	}
}

// TestI12BexecFlags: -f - with a context directory, -f FILE, --pull,
// and the refusals of what skiff cannot honour.
func TestI12BexecFlags(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"f.txt":          "from context\n",
		"other/Build.df": fmt.Sprintf("FROM %s\nCOPY f.txt /g\n", fx.busybox),
	})
	df := fmt.Sprintf("FROM %s\nCOPY f.txt /f\n", fx.busybox)
	r := st.skiff(strings.NewReader(df), "build", "-t", "bexec-flags", "-f", "-", dir)
	if r.code != 0 {
		t.Fatalf("build -f - DIR: %v", r)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-flags", "cat", "/f"); got != "from context" {
		t.Errorf("-f -: /f = %q", got)
	}
	r = st.i12bexecBuild(t, "--pull", "-t", "bexec-flags2", "-f", filepath.Join(dir, "other", "Build.df"), dir)
	if !strings.Contains(r.stdout, "Pulling from") && !strings.Contains(r.stdout, "up to date") {
		t.Errorf("--pull did not pull:\n%s", r.stdout)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-flags2", "cat", "/g"); got != "from context" {
		t.Errorf("-f FILE: /g = %q", got)
	}
	refused := []struct {
		args []string
		want string
	}{
		{[]string{"--platform", "linux/s390x"}, "only this host's platform"},
		{[]string{"--network", "nosuch"}, "network nosuch not found"},
		{[]string{"--progress", "fancy"}, "invalid progress mode"},
		{[]string{"--target", "nosuch"}, "nosuch"},
	}
	if runtime.GOARCH == "s390x" {
		refused[0].args[1] = "linux/amd64"
	}
	for _, c := range refused {
		r := st.skiff(strings.NewReader(df), append(append([]string{"build"}, c.args...), "-f", "-", dir)...)
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, c.want) {
			t.Errorf("build %v: stderr %q lacks %q", c.args, r.stderr, c.want)
		}
	}
}

// TestI12BexecOnBuild: a base's ONBUILD triggers run at the child's FROM
// (a COPY from the child's context, a RUN), and the child does not keep
// them.
func TestI12BexecOnBuild(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile":       fmt.Sprintf("FROM %s\nONBUILD COPY d.txt /from-trigger\nONBUILD RUN echo trigger-ran\n", fx.busybox),
		"Dockerfile.child": "FROM bexec-obase\nRUN cat /from-trigger\n",
		"d.txt":            "trigger data\n",
	})
	st.i12bexecBuild(t, "-t", "bexec-obase", dir)
	r := st.i12bexecBuild(t, "-t", "bexec-ochild", "-f", filepath.Join(dir, "Dockerfile.child"), dir)
	for _, want := range []string{"# Executing 2 build triggers", "trigger-ran", "trigger data"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if got := st.i12bexecOut(t, "image", "inspect", "--format", "{{json .Config.OnBuild}}", "bexec-ochild"); got != "null" {
		t.Errorf("the child keeps its base's triggers: %s", got)
	}
}

// RUN --network host shares the host's network namespace; default and none
// give each RUN its own, loopback only.
func TestI12BexecNetwork(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	host, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nRUN readlink /proc/self/ns/net > /netns\n", fx.busybox),
	})
	for _, tt := range []struct {
		network string
		shared  bool
	}{{"host", true}, {"default", false}, {"none", false}} {
		tag := "bexec-net-" + tt.network
		st.i12bexecBuild(t, "--no-cache", "--network", tt.network, "-t", tag, dir)
		got := st.i12bexecOut(t, "run", "--rm", tag, "cat", "/netns")
		if (got == host) != tt.shared {
			t.Errorf("--network %s: RUN saw %s, the host has %s (shared: want %v)", tt.network, got, host, tt.shared)
		}
	}
}

// rmi of a built image deletes the intermediate images of its build that
// nothing else needs, as docker's does; one another image was built from
// stays.
func TestI12BexecRmiRemovesIntermediates(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	st.must(t, "pull", fx.busybox)
	all := func() []string { return strings.Fields(st.must(t, "images", "-aq", "--no-trunc").stdout) }
	before := all()
	base := fmt.Sprintf("FROM %s\nRUN echo a > /a\nENV X=1\n", fx.busybox)
	st.i12bexecBuild(t, "-t", "bexec-rmi-a", i12bexecContext(t, map[string]string{"Dockerfile": base + "RUN echo b > /b\n"}))
	st.i12bexecBuild(t, "-t", "bexec-rmi-c", i12bexecContext(t, map[string]string{"Dockerfile": base + "RUN echo c > /c\n"}))
	shared := len(all()) // busybox, the two shared steps, a, c
	r := st.must(t, "rmi", "bexec-rmi-a")
	if n := strings.Count(r.stdout, "Deleted: sha256:"); n < 1 {
		t.Fatalf("rmi printed no deletion:\n%s", r.stdout)
	}
	if got := len(all()); got != shared-1 {
		t.Errorf("after rmi of one of two images sharing intermediates: %d images, want %d (only its own last step goes)", got, shared-1)
	}
	st.must(t, "rmi", "bexec-rmi-c")
	if got := all(); len(got) != len(before) {
		t.Errorf("after rmi of both built images: images -a lists %d, want the %d from before the builds: %v", len(got), len(before), got)
	}
}

// WORKDIR makes its directory when the image lacks it, as docker's
// classic builder: `COPY f .` then lands in it and RUN starts there.
func TestI12BexecWorkdir(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"f.txt":      "in workdir\n",
		"Dockerfile": fmt.Sprintf("FROM %s\nWORKDIR /src/app\nCOPY f.txt .\nRUN pwd > /pwd && cat f.txt > /seen\n", fx.busybox),
	})
	st.i12bexecBuild(t, "-t", "bexec-workdir", dir)
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-workdir", "cat", "/pwd", "/seen", "/src/app/f.txt"); got != "/src/app\nin workdir\nin workdir" {
		t.Errorf("RUN in WORKDIR saw %q", got)
	}
	if got := st.i12bexecOut(t, "run", "--rm", "bexec-workdir", "stat", "-c", "%F %a %u", "/src/app"); got != "directory 755 0" {
		t.Errorf("WORKDIR made /src/app as %q, want a 755 directory of root's", got)
	}
}

// i12bexecStoredImage is image ref of s's store as go-containerregistry
// sees it: skiff's stored manifest, config and layer blobs.
func (st *store) i12bexecStoredImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	s, err := skiffstore.Open(st.root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.LookupImage(ref)
	if err != nil {
		t.Fatal(err)
	}
	core := &i12bexecImage{s: s}
	if core.manifest, err = s.RawManifest(img); err != nil {
		t.Fatal(err)
	}
	if core.config, err = s.RawConfig(img); err != nil {
		t.Fatal(err)
	}
	vi, err := partial.CompressedToImage(core)
	if err != nil {
		t.Fatal(err)
	}
	return vi
}
