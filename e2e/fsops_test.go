package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// Issue 4's filesystem commands (commit, export, import, cp, diff) against
// docker's documented behaviour. Every test uses the shared store and
// unique names, and removes what it made.

// imageDoc is the part of docker's image inspect the tests read.
type imageDoc struct {
	ID      string `json:"Id"`
	Author  string
	Comment string
	Config  struct {
		Cmd, Entrypoint, Env []string
		WorkingDir, User     string
		Labels               map[string]string
	}
	RootFS struct{ Layers []string }
}

func (s *store) imageInspect(t *testing.T, ref string) imageDoc {
	t.Helper()
	r := s.must(t, "image", "inspect", ref)
	var out []imageDoc
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("image inspect %s: want a JSON array of one image: %v; %v", ref, err, r)
	}
	return out[0]
}

// mustTar is must for a command that writes a tar to stdout: a failure
// shows its size, not the binary.
func (s *store) mustTar(t *testing.T, args ...string) []byte {
	t.Helper()
	r := s.skiff(nil, args...)
	if r.code != 0 {
		t.Fatalf("skiff %s: exit %d after %d bytes of stdout; stderr: %q", strings.Join(args, " "), r.code, len(r.stdout), r.stderr)
	}
	return []byte(r.stdout)
}

// imageIDOf asserts a command printed docker's `sha256:<64 hex>` line.
func imageIDOf(t *testing.T, r result, what string) string {
	t.Helper()
	id := strings.TrimSuffix(r.stdout, "\n")
	if r.code != 0 || !strings.HasPrefix(id, "sha256:") || !fullID.MatchString(hexOf(id)) {
		t.Fatalf("%s: want exit 0 and sha256:<64 hex> on stdout; %v", what, r)
	}
	return id
}

// imageRef is a tag no other test uses; the image is removed at the end.
func (s *store) imageRef(t *testing.T) string {
	ref := uniqueName(t) + ":v1"
	t.Cleanup(func() { s.skiff(nil, "rmi", ref) })
	return ref
}

// runOut runs a throwaway container of image and returns its stdout.
func (s *store) runOut(t *testing.T, image string, args ...string) string {
	t.Helper()
	return s.must(t, append([]string{"run", "--rm", image}, args...)...).stdout
}

// tarEntries lists the names of a tar stream, without "./" or a trailing "/".
func tarEntries(t *testing.T, b []byte) map[string]*tar.Header {
	t.Helper()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("not a tar stream after %d entries: %v", len(out), err)
		}
		if strings.HasPrefix(h.Name, "/") || strings.Contains("/"+h.Name+"/", "/../") {
			t.Errorf("tar entry %q is absolute or climbs out", h.Name)
		}
		out[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = h
	}
}

// waitFile waits until a running container has created path.
func (s *store) waitFile(t *testing.T, name, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s.skiff(nil, "exec", name, "test", "-e", path).code == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("container %s never created %s", name, path)
}

// noMountsLeft: reading a stopped container's files (its overlay mounted
// for the command) leaves no mount in the host's table; a running
// container's mounts live in its own mount namespace.
func (s *store) noMountsLeft(t *testing.T) {
	t.Helper()
	if m := s.mountsUnder(); len(m) != 0 {
		t.Errorf("mounts left in the host's mount table under the store: %v", m)
	}
}

// changes is what the commit, export and diff tests do to fx.multi (which
// has /data/b, /data/dir/y and a whited-out /data/a): add, change, delete,
// and an opaque dir (/data/dir removed and made again).
const changes = `echo added > /added; echo changed > /data/b; rm /bin/wget; ` +
	`rm -rf /data/dir; mkdir /data/dir; echo z > /data/dir/z; `

func TestCommit(t *testing.T) {
	s := shared(t)
	s.must(t, "pull", fx.multi)
	name := uniqueName(t)
	s.must(t, "run", "--name", name, fx.multi, "sh", "-c", changes)
	s.cleanup(t, name)

	t.Run("the new image has the changes", func(t *testing.T) {
		ref := s.imageRef(t)
		id := imageIDOf(t, s.skiff(nil, "commit", name, ref), "commit")
		img := s.imageInspect(t, ref)
		if img.ID != id {
			t.Errorf("image inspect Id %q, commit printed %q", img.ID, id)
		}
		base := s.imageInspect(t, fx.multi)
		if len(img.RootFS.Layers) != len(base.RootFS.Layers)+1 {
			t.Errorf("committed image has %d layers, want exactly one more than its image's %d", len(img.RootFS.Layers), len(base.RootFS.Layers))
		}
		if n := len(img.RootFS.Layers); n > 0 {
			checkCommittedLayer(t, s, img.RootFS.Layers[n-1])
		}
		// docker commits the container's config: the command it ran
		// becomes the image's Cmd (hence the habit of -c 'CMD ...').
		if got := strings.Join(img.Config.Cmd, "|"); got != "sh|-c|"+changes {
			t.Errorf("committed Cmd %q, want the container's command [sh -c %q] (docker's)", img.Config.Cmd, changes)
		}
		for _, c := range []struct{ script, want string }{
			{"cat /added /data/b", "added\nchanged\n"},
			{"ls -a /data/dir", ".\n..\nz\n"},            // opaque: y is gone
			{"ls /data", "b\ndir\n"},                     // a stays whited out
			{"test -e /bin/wget || echo gone", "gone\n"}, // deleted stays deleted
			{"test -e /bin/ls && echo kept", "kept\n"},
		} {
			if got := s.runOut(t, ref, "sh", "-c", c.script); got != c.want {
				t.Errorf("in the committed image, %q printed %q, want %q", c.script, got, c.want)
			}
		}
	})
	t.Run("untagged shows as <none>", func(t *testing.T) {
		id := imageIDOf(t, s.skiff(nil, "commit", name), "commit without a tag")
		t.Cleanup(func() { s.skiff(nil, "rmi", id) })
		found := false
		for _, row := range s.imageRows(t) {
			if len(row) > 2 && strings.HasPrefix(hexOf(id), row[2]) {
				found = row[0] == "<none>" && row[1] == "<none>"
			}
		}
		if !found {
			t.Errorf("images does not list %s as <none> <none>: %v", short(hexOf(id)), s.imageRows(t))
		}
	})
	t.Run("-a and -m are recorded", func(t *testing.T) {
		ref := s.imageRef(t)
		const author, msg = "E2E Tester <e2e@example.org>", "the e2e commit message"
		id := imageIDOf(t, s.skiff(nil, "commit", "-a", author, "-m", msg, name, ref), "commit -a -m")
		img := s.imageInspect(t, ref)
		if img.Author != author || img.Comment != msg {
			t.Errorf("image inspect Author %q Comment %q, want %q and %q (docker's)", img.Author, img.Comment, author, msg)
		}
		// The config blob (named by the image id) carries the history entry.
		b, err := os.ReadFile(filepath.Join(s.root, "blobs", "sha256", hexOf(id)))
		if err != nil {
			t.Fatalf("config blob of %s: %v", id, err)
		}
		var cfg struct {
			History []struct{ Author, Comment, CreatedBy string } `json:"history"`
		}
		json.Unmarshal(b, &cfg)
		if n := len(cfg.History); n == 0 || cfg.History[n-1].Author != author || cfg.History[n-1].Comment != msg {
			t.Errorf("last history entry %+v, want author %q comment %q", cfg.History, author, msg)
		}
	})
	t.Run("-c changes are applied", func(t *testing.T) {
		ref := s.imageRef(t)
		imageIDOf(t, s.skiff(nil, "commit", "-c", `CMD ["cat","/added"]`, "-c", "ENV A=b", name, ref), "commit -c")
		if got := s.runOut(t, ref); got != "added\n" {
			t.Errorf("run with the committed CMD printed %q, want %q", got, "added\n")
		}
		if got := s.runOut(t, ref, "sh", "-c", "echo $A"); got != "b\n" {
			t.Errorf("ENV A=b: $A is %q", got)
		}
		if img := s.imageInspect(t, ref); !contains(img.Config.Env, "A=b") || strings.Join(img.Config.Cmd, " ") != "cat /added" {
			t.Errorf("image inspect Config Env %q Cmd %q", img.Config.Env, img.Config.Cmd)
		}
	})
	t.Run("-c instructions, table", func(t *testing.T) {
		for _, c := range []struct {
			change string
			args   []string // run's command, if any
			want   string   // its stdout
			check  func(imageDoc) bool
		}{
			{"WORKDIR /data", []string{"pwd"}, "/data\n", func(d imageDoc) bool { return d.Config.WorkingDir == "/data" }},
			{"USER app", []string{"id", "-u"}, "1000\n", func(d imageDoc) bool { return d.Config.User == "app" }},
			{"LABEL e2e=yes", []string{"true"}, "", func(d imageDoc) bool { return d.Config.Labels["e2e"] == "yes" }},
			// docker's ENTRYPOINT resets a Cmd it did not set itself
			{`ENTRYPOINT ["echo","ep"]`, nil, "ep\n", func(d imageDoc) bool { return strings.Join(d.Config.Entrypoint, " ") == "echo ep" }},
			{"CMD echo shell form", nil, "shell form\n", func(d imageDoc) bool {
				return strings.Join(d.Config.Cmd, "|") == "/bin/sh|-c|echo shell form"
			}},
		} {
			t.Run(c.change, func(t *testing.T) {
				ref := s.imageRef(t)
				imageIDOf(t, s.skiff(nil, "commit", "-c", c.change, name, ref), "commit -c "+c.change)
				if d := s.imageInspect(t, ref); !c.check(d) {
					t.Errorf("image inspect Config after -c %q: %+v", c.change, d.Config)
				}
				if got := s.runOut(t, ref, c.args...); got != c.want {
					t.Errorf("run after -c %q printed %q, want %q", c.change, got, c.want)
				}
			})
		}
	})
	t.Run("a running container, -p and -p=false", func(t *testing.T) {
		n := uniqueName(t)
		id := s.runD(t, "--name", n, fx.busybox, "sh", "-c", "echo live > /live; while :; do sleep 0.1; done")
		s.waitFile(t, n, "/live")
		for _, p := range []string{"-p", "-p=false"} {
			ref := s.imageRef(t)
			imageIDOf(t, s.skiff(nil, "commit", p, n, ref), "commit "+p)
			if got := s.runOut(t, ref, "cat", "/live"); got != "live\n" {
				t.Errorf("commit %s of a running container: /live is %q", p, got)
			}
			if in := s.inspect(t, n); in.State.Status != "running" || in.State.Paused {
				t.Errorf("after commit %s: status %q paused %v, want running and not paused", p, in.State.Status, in.State.Paused)
			}
		}
		// -p (the default) freezes the container while its layer is
		// written (a 16 MB random file makes that take a while); -p=false
		// never does.
		if _, err := os.Stat(freezerDir(id)); err == nil {
			s.must(t, "exec", n, "sh", "-c", "head -c 16000000 /dev/urandom > /big")
			for _, c := range []struct {
				flag string
				want bool
			}{{"-p=false", false}, {"-p", true}} {
				ref := s.imageRef(t)
				if got := sawFrozen(t, id, func() { imageIDOf(t, s.skiff(nil, "commit", c.flag, n, ref), "commit "+c.flag) }); got != c.want {
					t.Errorf("commit %s: the freezer was FROZEN during the commit: %v, want %v", c.flag, got, c.want)
				}
			}
		}
		// commit -p must not thaw a container its user paused.
		s.must(t, "pause", n)
		ref := s.imageRef(t)
		imageIDOf(t, s.skiff(nil, "commit", n, ref), "commit of a paused container")
		if in := s.inspect(t, n); !in.State.Paused {
			t.Errorf("commit unpaused a paused container: status %q", in.State.Status)
		}
		s.must(t, "unpause", n)
	})
	s.noMountsLeft(t)
}

// checkCommittedLayer reads the new layer's blob as stored: overlay's
// whiteouts (0/0 char devices, opaque xattrs) must have become OCI
// whiteout files, and nothing of the lower layers may be in it.
func checkCommittedLayer(t *testing.T, s *store, diffID string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.root, "layers", hexOf(diffID), "layer.json"))
	if err != nil {
		t.Errorf("the committed layer %s is not in the store: %v", short(hexOf(diffID)), err)
		return
	}
	var meta struct{ Digest string }
	json.Unmarshal(b, &meta)
	blob, err := os.ReadFile(filepath.Join(s.root, "blobs", "sha256", hexOf(meta.Digest)))
	if err != nil {
		t.Errorf("blob %s of the committed layer: %v", meta.Digest, err)
		return
	}
	raw := blob
	if bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(blob))
		if err == nil {
			raw, err = io.ReadAll(zr)
		}
		if err != nil {
			t.Errorf("the committed layer blob %s: %v", meta.Digest, err)
			return
		}
	}
	got := tarEntries(t, raw)
	for _, want := range []string{"added", "data/b", "bin/.wh.wget", "data/dir/.wh..wh..opq", "data/dir/z"} {
		if got[want] == nil {
			t.Errorf("the committed layer lacks %s: %v", want, keys(got))
		}
	}
	for name, h := range got {
		if h.Typeflag == tar.TypeChar || h.Typeflag == tar.TypeBlock {
			t.Errorf("the committed layer has a device %s: an overlay whiteout not turned into .wh.", name)
		}
		for k := range h.PAXRecords {
			if strings.Contains(k, "overlay") {
				t.Errorf("%s carries the overlay xattr %s", name, k)
			}
		}
		if name == "bin/busybox" || name == "data/dir/y" || name == "etc/passwd" {
			t.Errorf("the committed layer has %s, which the container did not change", name)
		}
	}
}

// exportNames runs export (stdout, or -o when out is set) and lists the tar.
func (s *store) exportNames(t *testing.T, name, out string) map[string]*tar.Header {
	t.Helper()
	if out == "" {
		return tarEntries(t, s.mustTar(t, "export", name))
	}
	if r := s.must(t, "export", "-o", out, name); r.stdout != "" {
		t.Errorf("export -o wrote %d bytes to stdout", len(r.stdout))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return tarEntries(t, b)
}

func TestExport(t *testing.T) {
	s := shared(t)
	s.must(t, "pull", fx.multi)
	stopped := uniqueName(t)
	s.must(t, "run", "--name", stopped, fx.multi, "sh", "-c", changes+"ln -s / /escape")
	s.cleanup(t, stopped)
	running := uniqueName(t)
	s.runD(t, "--name", running, fx.multi, "sh", "-c", changes+"ln -s / /escape; touch /ready; sleep 300")
	s.waitFile(t, running, "/ready")

	for _, c := range []struct{ what, name, out string }{
		{"stopped, stdout", stopped, ""},
		{"stopped, -o", stopped, filepath.Join(t.TempDir(), "x.tar")},
		{"running, stdout", running, ""},
	} {
		t.Run(c.what, func(t *testing.T) {
			got := s.exportNames(t, c.name, c.out)
			for _, want := range []string{"added", "data/b", "data/dir/z", "bin/busybox", "bin/ls", "etc/passwd", "escape"} {
				if got[want] == nil {
					t.Errorf("export lacks %s (%d entries)", want, len(got))
				}
			}
			for _, gone := range []string{"bin/wget", "data/a", "data/dir/y", "data/.wh.a"} {
				if got[gone] != nil {
					t.Errorf("export has %s, which the container deleted", gone)
				}
			}
			if h := got["escape"]; h != nil && (h.Typeflag != tar.TypeSymlink || h.Linkname != "/") {
				t.Errorf("/escape exported as type %c -> %q, want the symlink itself (never followed to the host)", h.Typeflag, h.Linkname)
			}
			// Docker's tar keeps hard links: busybox's applets are one file.
			if h, bb := got["bin/ls"], got["bin/busybox"]; h != nil && bb != nil && h.Typeflag != tar.TypeLink && bb.Typeflag != tar.TypeLink {
				t.Errorf("bin/ls and bin/busybox exported as separate files (type %c): hard links lost", h.Typeflag)
			}
			if h := got["added"]; h != nil && h.Size != int64(len("added\n")) {
				t.Errorf("added has size %d", h.Size)
			}
			for n := range got {
				if strings.HasPrefix(n, "proc/") || strings.HasPrefix(n, "sys/") {
					t.Errorf("export has %s: a running container's /proc or /sys mount was exported (docker exports the root filesystem only)", n)
					break
				}
			}
			for n := range got {
				if strings.HasPrefix(n, "escape/") {
					t.Errorf("export followed the planted symlink /escape: %s", n)
					break
				}
			}
		})
	}
	t.Run("export then import round trip", func(t *testing.T) {
		tarFile := filepath.Join(t.TempDir(), "rt.tar")
		s.must(t, "export", "-o", tarFile, stopped)
		ref := s.imageRef(t)
		imageIDOf(t, s.skiff(nil, "import", tarFile, ref), "import of an export")
		if got := s.runOut(t, ref, "/bin/sh", "-c", "cat /added /data/b; ls /data/dir; test -e /bin/wget || echo gone"); got != "added\nchanged\nz\ngone\n" {
			t.Errorf("the imported export shows %q", got)
		}
	})
	s.noMountsLeft(t)
}

// busyboxTar is a plain tar of the busybox root plus /imported.
func busyboxTar(t *testing.T, extra string) []byte {
	t.Helper()
	files, err := testenv.BusyboxFiles()
	if err != nil {
		t.Fatal(err)
	}
	b, err := testenv.TarBytes(append(files, testenv.Reg("imported", extra)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func TestImport(t *testing.T) {
	s := shared(t)
	raw := busyboxTar(t, "imported\n")
	file := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/rootfs.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(gzipped(raw))
	}))
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		what  string
		stdin []byte
		args  []string // before the ref
	}{
		{"file", nil, []string{file}},
		{"stdin", raw, []string{"-"}},
		{"gzip from an http URL", nil, []string{srv.URL + "/rootfs.tar.gz"}},
	} {
		t.Run(c.what, func(t *testing.T) {
			ref := s.imageRef(t)
			var in io.Reader
			if c.stdin != nil {
				in = bytes.NewReader(c.stdin)
			}
			r := s.skiff(in, append(append([]string{"import"}, c.args...), ref)...)
			id := imageIDOf(t, r, "import "+c.what)
			img := s.imageInspect(t, ref)
			if img.ID != id || len(img.RootFS.Layers) != 1 {
				t.Errorf("image inspect: Id %q (import printed %q), %d layers, want one", img.ID, id, len(img.RootFS.Layers))
			}
			if got := s.runOut(t, ref, "/bin/cat", "/imported"); got != "imported\n" {
				t.Errorf("run the imported image: /imported is %q", got)
			}
			if c.what == "file" {
				// An import has no config: docker's "No command specified".
				runError(t, s.skiff(nil, "run", "--rm", ref), 125)
			}
		})
	}
	t.Run("-c and -m", func(t *testing.T) {
		ref := s.imageRef(t)
		r := s.skiff(bytes.NewReader(raw), "import", "-c", `CMD ["/bin/cat","/imported"]`, "-c", "ENV A=b", "-m", "imported by e2e", "-", ref)
		imageIDOf(t, r, "import -c -m")
		if got := s.runOut(t, ref); got != "imported\n" {
			t.Errorf("run with the imported CMD printed %q", got)
		}
		img := s.imageInspect(t, ref)
		if !contains(img.Config.Env, "A=b") {
			t.Errorf("ENV A=b not in Config.Env %q", img.Config.Env)
		}
		if img.Comment != "imported by e2e" {
			t.Errorf("image inspect Comment %q, want the -m message (docker's)", img.Comment)
		}
	})
	t.Run("unreachable URL", func(t *testing.T) {
		r := s.skiff(nil, "import", srv.URL+"/nosuch.tar")
		oneLineError(t, r, 1)
	})
}

// TestImportHostile: a tar aiming outside the layer gets the checks a
// pulled layer gets: the cases docker refuses are refused with one line and
// leave nothing; the symlink cases are refused or resolved inside the layer;
// none writes outside the store.
func TestImportHostile(t *testing.T) {
	requireEnv(t)
	// A refusal proves nothing unless a harmless tar is accepted.
	ok, err := testenv.TarBytes([]testenv.File{testenv.Reg("harmless", "ok\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r := newStore(t).skiff(bytes.NewReader(ok), "import", "-", "harmless:latest"); r.code != 0 {
		t.Fatalf("import of a harmless tar fails, so refusals cannot be judged; %v", r)
	}
	for name, c := range hostileCases(fx) {
		t.Run(name, func(t *testing.T) {
			s := newStore(t)
			raw, err := testenv.TarBytes(c.files)
			if err != nil {
				t.Fatal(err)
			}
			before := hostPasswdLinks(t)
			r := s.skiff(bytes.NewReader(raw), "import", "-", "evil:"+name)
			if after := hostPasswdLinks(t); after != before {
				t.Errorf("/etc/passwd link count changed %d -> %d", before, after)
			}
			assertMarkersUntouched(t)
			if r.code == 0 {
				if c.mustFail {
					t.Errorf("import of a tar with %s succeeded; a pull of it is refused", tarNames(c.files))
				}
				return
			}
			t.Logf("refused: %s", strings.TrimSpace(r.stderr))
			oneLineError(t, r, 1)
			assertNothingLeft(t, s)
		})
	}
}

// cpScript makes the files the cp tests copy, and the planted links: /escape
// -> / and /d/up -> ../../../.. (both must resolve inside the container), and
// /vic -> the host's victim file's path.
func cpScript() string { return cpScriptBase + "ln -s " + fx.victim + " /vic; " }

const cpScriptBase = `mkdir -p /d/sub; echo f > /d/f; echo s > /d/sub/s; chown 1234:5678 /d/f; ` +
	`ln -s / /escape; ln -s ../../../../../../.. /d/up; ln -s /d/f /link; echo inside > /etc/e2e-where; `

func TestCp(t *testing.T) {
	s := shared(t)
	running := uniqueName(t)
	s.runD(t, "--name", running, fx.busybox, "sh", "-c", cpScript()+"touch /ready; sleep 300")
	s.waitFile(t, running, "/ready")
	stopped := uniqueName(t)
	s.must(t, "run", "--name", stopped, fx.busybox, "sh", "-c", cpScript())
	s.cleanup(t, stopped)
	for _, name := range []string{running, stopped} {
		kind := map[bool]string{true: "running", false: "stopped"}[name == running]
		t.Run(kind, func(t *testing.T) { cpCases(t, s, name) })
	}
	t.Run("stopped, what was copied in is there at start", func(t *testing.T) {
		host := filepath.Join(t.TempDir(), "h")
		os.WriteFile(host, []byte("copied while stopped\n"), 0o644)
		n := uniqueName(t)
		s.must(t, "create", "--name", n, fx.busybox, "sh", "-c", "cat /h")
		s.cleanup(t, n)
		s.must(t, "cp", host, n+":/h")
		if r := s.must(t, "start", "-a", n); r.stdout != "copied while stopped\n" {
			t.Errorf("the container read %q", r.stdout)
		}
	})
	t.Run("a link swapped while cp runs never reaches the host", func(t *testing.T) {
		cpRace(t, s)
	})
	s.noMountsLeft(t)
}

// cpRace is CVE-2018-15664's attack: the container flips /w between a
// directory and a link to / while cp resolves paths under /w, both ways.
// Each copy may fail or land inside; none may touch or read the host.
func cpRace(t *testing.T, s *store) {
	n := uniqueName(t)
	s.runD(t, "--name", n, fx.busybox, "sh", "-c", "touch /ready; while :; do ln -s / /w; rm /w; mkdir /w; rmdir /w; done")
	s.waitFile(t, n, "/ready")
	src := filepath.Join(t.TempDir(), "race")
	os.WriteFile(src, []byte("race\n"), 0o644)
	deadline := time.Now().Add(1500 * time.Millisecond)
	tries := 0
	for ; time.Now().Before(deadline); tries++ {
		s.skiff(nil, "cp", src, n+":/w"+fx.markerDir+"/race")
		if r := s.skiff(nil, "cp", n+":/w"+fx.victim, "-"); strings.Contains(r.stdout, victimContent) {
			t.Fatalf("try %d: cp out through the swapped /w read the host's %s", tries, fx.victim)
		}
	}
	t.Logf("%d tries in each direction", tries)
	assertMarkersUntouched(t)
}

// cpCases copies both ways with name, running or stopped, and checks each
// copy with another copy out (which works on both).
func cpCases(t *testing.T, s *store, name string) {
	host := t.TempDir()
	write := func(rel, body string) string {
		p := filepath.Join(host, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(t *testing.T, p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("read %s: %v", p, err)
		}
		return string(b)
	}
	// inContainer reads a file of the container through cp - (a tar).
	inContainer := func(t *testing.T, p string) (string, *tar.Header) {
		t.Helper()
		r := s.skiff(nil, "cp", name+":"+p, "-")
		if r.code != 0 {
			return "", nil
		}
		tr := tar.NewReader(strings.NewReader(r.stdout))
		h, err := tr.Next()
		if err != nil {
			t.Errorf("cp %s - : not a tar: %v", p, err)
			return "", nil
		}
		b, _ := io.ReadAll(tr)
		return string(b), h
	}

	t.Run("out: file", func(t *testing.T) {
		dst := filepath.Join(host, "out-f")
		s.must(t, "cp", name+":/d/f", dst)
		if got := read(t, dst); got != "f\n" {
			t.Errorf("copied file has %q", got)
		}
	})
	t.Run("out: owner is the caller's, -a keeps the container's", func(t *testing.T) {
		plain, archive := filepath.Join(host, "own-plain"), filepath.Join(host, "own-a")
		s.must(t, "cp", name+":/d/f", plain)
		s.must(t, "cp", "-a", name+":/d/f", archive)
		for p, want := range map[string][2]uint32{plain: {0, 0}, archive: {1234, 5678}} {
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil || st.Uid != want[0] || st.Gid != want[1] {
				t.Errorf("%s is owned by %d:%d (%v), want %d:%d (docker's cp docs)", filepath.Base(p), st.Uid, st.Gid, err, want[0], want[1])
			}
		}
	})
	t.Run("out: dir, new and existing dest", func(t *testing.T) {
		dst := filepath.Join(host, "out-d")
		s.must(t, "cp", name+":/d", dst) // dst missing: becomes the copy of /d
		if got := read(t, filepath.Join(dst, "sub", "s")); got != "s\n" {
			t.Errorf("out-d/sub/s has %q", got)
		}
		s.must(t, "cp", name+":/d", dst) // dst a dir: the copy goes inside
		if got := read(t, filepath.Join(dst, "d", "f")); got != "f\n" {
			t.Errorf("out-d/d/f has %q", got)
		}
		dot := filepath.Join(host, "out-dot")
		os.Mkdir(dot, 0o755)
		s.must(t, "cp", name+":/d/.", dot) // "/." copies the contents
		if got := read(t, filepath.Join(dot, "f")); got != "f\n" {
			t.Errorf("out-dot/f has %q", got)
		}
	})
	t.Run("out: - is a tar stream", func(t *testing.T) {
		got := tarEntries(t, s.mustTar(t, "cp", name+":/d", "-"))
		for _, want := range []string{"d", "d/f", "d/sub", "d/sub/s", "d/up"} {
			if got[want] == nil {
				t.Errorf("cp %s:/d - lacks %s: %v", name, want, keys(got))
			}
		}
		if h := got["d/up"]; h != nil && h.Typeflag != tar.TypeSymlink {
			t.Errorf("d/up in the tar is type %c, want the link itself", h.Typeflag)
		}
		for n := range got {
			if strings.HasPrefix(n, "d/up/") {
				t.Errorf("cp - followed the planted link d/up: %s", n)
				break
			}
		}
		if h := got["d/f"]; h != nil && (h.Uid != 1234 || h.Gid != 5678) {
			t.Errorf("d/f in the tar is %d:%d, want the container's 1234:5678", h.Uid, h.Gid)
		}
	})
	t.Run("out: a link is copied as a link, -L follows it", func(t *testing.T) {
		dst := filepath.Join(host, "out-link")
		s.must(t, "cp", name+":/link", dst)
		if l, err := os.Readlink(dst); err != nil || l != "/d/f" {
			t.Errorf("without -L: %s is %q %v, want a link to /d/f", dst, l, err)
		}
		dstL := filepath.Join(host, "out-link-L")
		s.must(t, "cp", "-L", name+":/link", dstL)
		if got := read(t, dstL); got != "f\n" {
			t.Errorf("with -L: %q, want the target's content", got)
		}
	})
	t.Run("in: file, dir and - tar", func(t *testing.T) {
		s.must(t, "cp", write("in-f", "in file\n"), name+":/in-f")
		write("in-d/x", "in dir\n")
		s.must(t, "cp", filepath.Join(host, "in-d"), name+":/in-d")
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "fromtar/", Typeflag: tar.TypeDir, Mode: 0o755})
		tw.WriteHeader(&tar.Header{Name: "fromtar/x", Typeflag: tar.TypeReg, Mode: 0o644, Size: 8})
		tw.Write([]byte("tar in!\n"))
		tw.Close()
		if r := s.skiff(&buf, "cp", "-", name+":/tmp"); r.code != 0 {
			t.Errorf("cp - %s:/tmp: %v", name, r)
		}
		for p, want := range map[string]string{"/in-f": "in file\n", "/in-d/x": "in dir\n", "/tmp/fromtar/x": "tar in!\n"} {
			if got, _ := inContainer(t, p); got != want {
				t.Errorf("%s in the container has %q, want %q", p, got, want)
			}
		}
	})
	t.Run("in: owner is root, -a keeps it", func(t *testing.T) {
		p := write("owned", "owned\n")
		if err := os.Chown(p, 4321, 8765); err != nil {
			t.Fatal(err)
		}
		s.must(t, "cp", p, name+":/owned-root")
		s.must(t, "cp", "-a", p, name+":/owned-a")
		for f, want := range map[string][2]int{"/owned-root": {0, 0}, "/owned-a": {4321, 8765}} {
			if _, h := inContainer(t, f); h == nil || h.Uid != want[0] || h.Gid != want[1] {
				t.Errorf("%s: header %+v, want owner %d:%d", f, h, want[0], want[1])
			}
		}
	})
	t.Run("planted links never reach the host", func(t *testing.T) {
		src := write("esc", "escaped?\n")
		hostTmp := "/tmp/" + uniqueName(t)
		// Copies in through /escape -> / and /d/up -> ../../..: each lands
		// inside the container or fails cleanly.
		for _, dst := range []string{
			"/escape" + fx.markerDir + "/in",
			"/d/up" + fx.markerDir + "/in",
			"/escape" + hostTmp,
			"/d/up" + hostTmp,
			"/vic",
		} {
			r := s.skiff(nil, "cp", src, name+":"+dst)
			if r.code != 0 {
				oneLineError(t, r, 1)
			}
		}
		if _, err := os.Lstat(hostTmp); err == nil {
			os.Remove(hostTmp)
			t.Errorf("cp into %s:/escape%s wrote the host's %s", name, hostTmp, hostTmp)
		}
		if got, _ := inContainer(t, hostTmp); got != "escaped?\n" {
			t.Errorf("cp into /escape%s did not land in the container's %s (got %q)", hostTmp, hostTmp, got)
		}
		// Copies out through the links read the container's files.
		for _, p := range []string{"/escape/etc/e2e-where", "/d/up/etc/e2e-where"} {
			if got, _ := inContainer(t, p); got != "inside\n" {
				t.Errorf("cp %s:%s read %q, want the container's %q", name, p, got, "inside\n")
			}
		}
		// In a running container, /proc/self is whoever reads it: the
		// skiff CLI on the host, unless magic links are refused.
		for _, dst := range []string{"/proc/self/root" + fx.markerDir + "/in", "/proc/self/cwd/in-proc-cwd"} {
			s.skiff(nil, "cp", src, name+":"+dst)
		}
		for _, p := range []string{"/escape" + fx.victim, "/d/up" + fx.victim, "/proc/self/root" + fx.victim, "/proc/1/root/../../.." + fx.victim} {
			if got, _ := inContainer(t, p); got == victimContent {
				t.Errorf("cp %s:%s read the host's %s", name, p, fx.victim)
			}
		}
		if wd, _ := os.Getwd(); wd != "" {
			if _, err := os.Lstat(filepath.Join(wd, "in-proc-cwd")); err == nil {
				os.Remove(filepath.Join(wd, "in-proc-cwd"))
				t.Errorf("cp into %s:/proc/self/cwd wrote the host's %s", name, wd)
			}
		}
		assertMarkersUntouched(t)
		out := filepath.Join(host, "victim-out")
		s.skiff(nil, "cp", name+":/escape"+fx.victim, out)
		if b, _ := os.ReadFile(out); string(b) == victimContent {
			t.Errorf("cp to a host file read the host's %s through /escape", fx.victim)
		}
	})
	t.Run("missing source", func(t *testing.T) {
		oneLineError(t, s.skiff(nil, "cp", name+":/nosuch", filepath.Join(host, "x")), 1)
		oneLineError(t, s.skiff(nil, "cp", filepath.Join(host, "nosuch"), name+":/x"), 1)
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// diffLines is `diff` output as lines; a container that changed nothing
// shows no line in docker, so the lines of a fresh one are a defect reported
// once, then ignored in the other checks.
func (s *store) diffLines(t *testing.T, name string) []string {
	t.Helper()
	out := strings.TrimRight(s.must(t, "diff", name).stdout, "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func TestDiff(t *testing.T) {
	s := shared(t)
	s.must(t, "pull", fx.multi)
	fresh := uniqueName(t)
	s.must(t, "run", "--name", fresh, fx.multi, "true")
	s.cleanup(t, fresh)
	noise := map[string]bool{}
	t.Run("a container that changed nothing", func(t *testing.T) {
		for _, l := range s.diffLines(t, fresh) {
			noise[l] = true
			t.Errorf("diff of a container that ran `true` shows %q; docker shows nothing", l)
		}
	})

	name := uniqueName(t)
	s.runD(t, "--name", name, fx.multi, "sh", "-c",
		"echo new > /added; echo changed > /data/b; rm /data/dir/y; mkdir -p /newdir/sub; echo z > /newdir/sub/z; touch /ready; sleep 300")
	s.waitFile(t, name, "/ready")
	want := []string{
		"A /added", "C /data", "C /data/b", "C /data/dir", "D /data/dir/y",
		"A /newdir", "A /newdir/sub", "A /newdir/sub/z", "A /ready",
	}
	check := func(t *testing.T) {
		var got []string
		for _, l := range s.diffLines(t, name) {
			if !noise[l] {
				got = append(got, l)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("diff:\n%s\nwant (docker's, sorted by path):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	t.Run("running", check)
	s.must(t, "stop", "-t", "0", name)
	t.Run("stopped", check)
	t.Run("an opaque dir", func(t *testing.T) {
		// docker shows /data/dir as C (naive diff) or D (overlay2's own
		// walk, then its new children as A); either way z is new, /data
		// changed, and x, hidden in the image, never appears.
		n := uniqueName(t)
		s.must(t, "run", "--name", n, fx.multi, "sh", "-c", "rm -rf /data/dir; mkdir /data/dir; echo z > /data/dir/z")
		s.cleanup(t, n)
		got := map[string]bool{}
		for _, l := range s.diffLines(t, n) {
			got[l] = !noise[l]
		}
		if !got["C /data"] || !got["A /data/dir/z"] || !(got["C /data/dir"] || got["D /data/dir"]) || got["A /data/dir"] {
			t.Errorf("diff after making /data/dir opaque: %v", keys(got))
		}
		for l := range got {
			if strings.Contains(l, "/data/dir/x") || strings.Contains(l, ".wh.") {
				t.Errorf("diff shows %q", l)
			}
		}
	})
	s.noMountsLeft(t)
}

// TestCpOverDeleted: a copy into a container over what it deleted from its
// image (a whiteout, a removed directory) shows exactly what was copied:
// the image's old file or directory entries never come back, running or
// stopped (where the copy may be written beside overlay's whiteouts).
func TestCpOverDeleted(t *testing.T) {
	s := shared(t)
	s.must(t, "pull", fx.multi)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "b"), []byte("new b\n"), 0o644)
	os.MkdirAll(filepath.Join(host, "dir"), 0o755)
	os.WriteFile(filepath.Join(host, "dir", "n"), []byte("n\n"), 0o644)
	const del = "rm /data/b; rm -rf /data/dir; "
	running := uniqueName(t)
	s.runD(t, "--name", running, fx.multi, "sh", "-c", del+"touch /ready; sleep 300")
	s.waitFile(t, running, "/ready")
	stopped := uniqueName(t)
	s.must(t, "run", "--name", stopped, fx.multi, "sh", "-c", del)
	s.cleanup(t, stopped)
	for _, name := range []string{running, stopped} {
		t.Run(map[bool]string{true: "running", false: "stopped"}[name == running], func(t *testing.T) {
			s.must(t, "cp", filepath.Join(host, "b"), name+":/data/b")
			s.must(t, "cp", filepath.Join(host, "dir"), name+":/data/dir")
			got := tarEntries(t, s.mustTar(t, "cp", name+":/data", "-"))
			if want := []string{"data", "data/b", "data/dir", "data/dir/n"}; strings.Join(keys(got), " ") != strings.Join(want, " ") {
				t.Errorf("cp %s:/data - lists %v, want %v (the image's deleted entries must stay deleted)", name, keys(got), want)
			}
			exp := s.exportNames(t, name, "")
			if exp["data/dir/y"] != nil || exp["data/dir/n"] == nil || exp["data/a"] != nil {
				t.Errorf("export after the copies: data/dir/y %v data/dir/n %v data/a %v, want only n", exp["data/dir/y"] != nil, exp["data/dir/n"] != nil, exp["data/a"] != nil)
			}
		})
	}
	t.Run("a commit of the stopped one has exactly the copies", func(t *testing.T) {
		ref := s.imageRef(t)
		imageIDOf(t, s.skiff(nil, "commit", stopped, ref), "commit")
		if got := s.runOut(t, ref, "sh", "-c", "cat /data/b; ls -a /data/dir"); got != "new b\n.\n..\nn\n" {
			t.Errorf("the committed copies show %q", got)
		}
	})
	s.noMountsLeft(t)
}
