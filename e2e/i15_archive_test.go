package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// i15archiveSource is a store holding busybox, multi (tagged twice) and
// other, pulled from the test registry.
func i15archiveSource(t *testing.T) *store {
	t.Helper()
	requireEnv(t)
	st := newStore(t)
	for _, ref := range []string{fx.busybox, fx.multi, fx.other} {
		st.must(t, "pull", "-q", ref)
	}
	st.must(t, "tag", fx.multi, "multi:v1")
	st.must(t, "tag", fx.multi, "multi:v2")
	return st
}

// i15archiveImages is a store's images: "repo:tag" -> id, and the
// manifest digest each image record keeps.
func i15archiveImages(t *testing.T, st *store) (tags map[string]string, manifests map[string]string) {
	t.Helper()
	r := st.must(t, "images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
	tags, manifests = map[string]string{}, map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			tags[f[0]] = f[1]
		}
	}
	recs, _ := filepath.Glob(filepath.Join(st.root, "images", "*.json"))
	for _, p := range recs {
		var rec struct{ ID, Manifest string }
		b, _ := os.ReadFile(p)
		json.Unmarshal(b, &rec)
		manifests[rec.ID] = rec.Manifest
	}
	return tags, manifests
}

// i15archiveEntries lists an archive's entry names.
func i15archiveEntries(t *testing.T, b []byte) []string {
	t.Helper()
	var names []string
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		names = append(names, h.Name)
	}
}

// Several images and tags saved (to a file and to stdout) load into a clean
// store with the same ids, names and manifest digests, and run.
func TestI15ArchiveRoundTrip(t *testing.T) {
	src := i15archiveSource(t)
	file := filepath.Join(t.TempDir(), "images.tar")
	src.must(t, "save", "-o", file, fx.busybox, "multi", fx.other)
	r := src.must(t, "save", fx.busybox, "multi", fx.other)
	onDisk, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, []byte(r.stdout)) {
		t.Errorf("save -o and save to stdout wrote different archives (%d and %d bytes)", len(onDisk), len(r.stdout))
	}
	names := i15archiveEntries(t, onDisk)
	for _, want := range []string{"manifest.json", "index.json", "oci-layout"} {
		if !slices.Contains(names, want) {
			t.Errorf("the archive has no %s: %v", want, names)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(file), ".*")); len(m) > 0 {
		t.Errorf("save left temp files: %v", m)
	}

	wantTags, wantManifests := i15archiveImages(t, src)
	for _, how := range []string{"file", "stdin"} {
		t.Run(how, func(t *testing.T) {
			dst := newStore(t)
			var r result
			if how == "file" {
				r = dst.must(t, "load", "-i", file)
			} else {
				r = dst.skiff(bytes.NewReader(onDisk), "load")
			}
			if r.code != 0 {
				t.Fatalf("load: %v", r)
			}
			for _, n := range []string{"multi:v1", "multi:v2", fx.busybox} {
				if !strings.Contains(r.stdout, "Loaded image: "+n+"\n") {
					t.Errorf("load output lacks %q:\n%s", "Loaded image: "+n, r.stdout)
				}
			}
			gotTags, gotManifests := i15archiveImages(t, dst)
			for tag, id := range wantTags {
				if tag == fx.multi {
					continue // not saved: "multi" is docker.io/library/multi's tags
				}
				if gotTags[tag] != id {
					t.Errorf("%s: loaded as %q, saved as %s", tag, gotTags[tag], id)
				}
				if gotManifests[id] != wantManifests[id] {
					t.Errorf("%s: manifest %s after load, %s before", tag, gotManifests[id], wantManifests[id])
				}
			}
			out := dst.must(t, "run", "--rm", "--network", "none", "multi:v2", "sh", "-c", "cat /data/b /data/dir/y; ls /data").stdout
			if out != "b\ny\nb\ndir\n" {
				t.Errorf("a container of the loaded image printed %q", out)
			}
			// A name that points elsewhere moves to the loaded image, as
			// docker says.
			dst.must(t, "tag", fx.busybox, "multi:v1")
			r = dst.skiff(bytes.NewReader(onDisk), "load")
			moved := "The image multi:v1 already exists, renaming the old one with ID " + fx.busyboxID + " to empty string\nLoaded image: multi:v1\n"
			if r.code != 0 || !strings.Contains(r.stdout, moved) {
				t.Errorf("loading over a moved tag: %v; want %q", r, moved)
			}
		})
	}
}

// The archive loads whatever it was compressed with, from a file or stdin.
func TestI15ArchiveCompressed(t *testing.T) {
	requireEnv(t)
	src := newStore(t)
	src.must(t, "pull", "-q", fx.other)
	plain := []byte(src.must(t, "save", fx.other).stdout)
	compress := map[string]func(io.Writer) io.WriteCloser{
		"gzip": func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) },
		"zstd": func(w io.Writer) io.WriteCloser { z, _ := zstd.NewWriter(w); return z },
		"xz":   func(w io.Writer) io.WriteCloser { z, _ := xz.NewWriter(w); return z },
	}
	archives := map[string][]byte{"plain": plain}
	for format, w := range compress {
		var b bytes.Buffer
		z := w(&b)
		z.Write(plain)
		z.Close()
		archives[format] = b.Bytes()
	}
	c := exec.Command("bzip2", "-c") // the standard library cannot write bzip2
	c.Stdin = bytes.NewReader(plain)
	if out, err := c.Output(); err == nil {
		archives["bzip2"] = out
	} else {
		t.Logf("bzip2 not tested: %v", err)
	}
	for format, b := range archives {
		t.Run(format, func(t *testing.T) {
			dst := newStore(t)
			file := filepath.Join(t.TempDir(), "img.tar."+format)
			os.WriteFile(file, b, 0o644)
			r := dst.must(t, "load", "-q", "-i", file)
			if want := "Loaded image: " + fx.other + "\n"; r.stdout != want {
				t.Errorf("load printed %q, want %q", r.stdout, want)
			}
			dst.must(t, "run", "--rm", "--network", "none", fx.other, "cat", "/etc/other")
		})
	}
}

// i15archiveLegacy writes img as a docker-archive (ggcr's tarball: a
// manifest.json, the config, gzipped layers named by digest).
func i15archiveLegacy(t *testing.T, img v1.Image, ref string) []byte {
	t.Helper()
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := tarball.Write(tag, img, &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// i15archiveRewrite rewrites an archive's entries: edit returns an entry's
// new content, or nil to drop it.
func i15archiveRewrite(t *testing.T, in []byte, edit func(name string, data []byte) []byte, extra ...testenv.File) []byte {
	t.Helper()
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for _, f := range extra {
		tw.WriteHeader(&tar.Header{Name: f.Name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.Body))})
		tw.Write([]byte(f.Body))
	}
	tr := tar.NewReader(bytes.NewReader(in))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if data = edit(h.Name, data); data == nil {
			continue
		}
		h.Size = int64(len(data))
		tw.WriteHeader(h)
		tw.Write(data)
	}
	tw.Close()
	return out.Bytes()
}

// A hostile, tampered or truncated archive is refused with one error line,
// and nothing of it is left: no image, name, layer or temp dir, and nothing
// written outside the store.
func TestI15ArchiveHostile(t *testing.T) {
	requireEnv(t)
	good, err := testenv.LayerFromFiles([]testenv.File{testenv.Reg("good", "good\n")})
	if err != nil {
		t.Fatal(err)
	}
	imageOf := func(files ...[]testenv.File) v1.Image {
		ls := []v1.Layer{good}
		for _, f := range files {
			l, err := testenv.LayerFromFiles(f)
			if err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, ls...)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	cases := map[string][]byte{}
	for name, c := range hostileCases(fx) {
		if c.mustFail {
			cases["layer-"+name] = i15archiveLegacy(t, imageOf(c.files), "evil/"+name+":latest")
		}
	}
	plain := i15archiveLegacy(t, imageOf([]testenv.File{testenv.Reg("second", "2\n")}), "plain:latest")
	cases["entry-dotdot"] = i15archiveRewrite(t, plain, func(_ string, d []byte) []byte { return d },
		testenv.Reg("../../escape", "x"))
	cases["wrong-diffid"] = i15archiveRewrite(t, plain, func(n string, d []byte) []byte {
		var cfg map[string]any
		if json.Unmarshal(d, &cfg) == nil && cfg["rootfs"] != nil {
			rootfs := cfg["rootfs"].(map[string]any)
			ids := rootfs["diff_ids"].([]any)
			ids[len(ids)-1] = "sha256:" + strings.Repeat("0", 64)
			b, _ := json.Marshal(cfg)
			return b
		}
		return d
	})
	cases["truncated"] = plain[:len(plain)*2/3]
	cases["no-layer"] = i15archiveRewrite(t, plain, func(n string, d []byte) []byte {
		if strings.HasSuffix(n, ".tar.gz") {
			return nil
		}
		return d
	})

	// An OCI-layout archive (skiff's own, manifest.json left out) whose top
	// layer blob is the same tar compressed otherwise: its diffID is right,
	// its digest not the manifest's.
	src := newStore(t)
	src.must(t, "pull", "-q", fx.other)
	saved := []byte(src.must(t, "save", fx.other).stdout)
	// skiff's archive has its metadata first: its layers are extracted as
	// they stream in, and a cut one must not leave the ones before it.
	cases["truncated-streamed"] = saved[:len(saved)*2/3]
	top := i15archiveTopLayer(t, saved)
	cases["oci-wrong-digest"] = i15archiveRewrite(t, saved, func(n string, d []byte) []byte {
		switch n {
		case "manifest.json":
			return nil
		case top:
			return i15archiveRecompress(t, d)
		}
		return d
	})

	for name, archive := range cases {
		t.Run(name, func(t *testing.T) {
			st := newStore(t)
			r := st.skiff(bytes.NewReader(archive), "load")
			oneLineError(t, r, 1)
			if want := i15archiveWhy[strings.SplitN(name, "-", 2)[0]]; !strings.Contains(r.stderr, want) {
				t.Errorf("refused for another reason than %q: %s", want, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "skiff: ") {
				t.Errorf("stderr %q does not start with skiff: ", r.stderr)
			}
			if rows := st.imageRows(t); len(rows) != 0 {
				t.Errorf("images after a refused load: %v", rows)
			}
			if l := st.layerDirs(t); len(l) != 0 {
				t.Errorf("layers published by a refused load: %v", l)
			}
			if d := st.tmpDirs(t); len(d) != 0 {
				t.Errorf("temp dirs left by a refused load: %v", d)
			}
			if ents, _ := os.ReadDir(fx.markerDir); len(ents) != 0 {
				t.Errorf("the hostile archive wrote into %s", fx.markerDir)
			}
			if b, _ := os.ReadFile(fx.victim); string(b) != victimContent {
				t.Errorf("the hostile archive changed %s", fx.victim)
			}
		})
	}
}

// i15archiveTopLayer is the file of the last layer manifest.json names.
func i15archiveTopLayer(t *testing.T, archive []byte) string {
	t.Helper()
	var m []struct{ Layers []string }
	i15archiveRewrite(t, archive, func(n string, d []byte) []byte {
		if n == "manifest.json" {
			json.Unmarshal(d, &m)
		}
		return d
	})
	if len(m) == 0 || len(m[0].Layers) == 0 {
		t.Fatal("the saved archive's manifest.json names no layer")
	}
	return m[0].Layers[len(m[0].Layers)-1]
}

// i15archiveRecompress is a gzip blob's content gzipped at another level.
func i15archiveRecompress(t *testing.T, blob []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.NoCompression)
	zw.Write(plain)
	zw.Close()
	return b.Bytes()
}

// i15archiveWhy is the cause each kind of TestI15ArchiveHostile case must be
// refused for (by the prefix of its name).
var i15archiveWhy = map[string]string{
	"layer":     "extract:",
	"entry":     "is outside the archive",
	"wrong":     "invalid diffID",
	"truncated": "truncated",
	"no":        "is missing",
	"oci":       "digest mismatch",
}

// save -o to a full disk fails with one line and leaves no file, partial or
// temporary, and no earlier file of that name is replaced.
func TestI15ArchiveSaveFullDisk(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	st.must(t, "pull", "-q", fx.big)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	old := filepath.Join(dir, "old.tar")
	os.WriteFile(old, []byte("keep\n"), 0o644)
	r := st.skiff(nil, "save", "-o", filepath.Join(dir, "big.tar"), fx.big)
	oneLineError(t, r, 1)
	r = st.skiff(nil, "save", "-o", old, fx.big)
	oneLineError(t, r, 1)
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "old.tar" {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("after failed saves the directory holds %v, want only old.tar", names)
	}
	if b, _ := os.ReadFile(old); string(b) != "keep\n" {
		t.Errorf("a failed save replaced old.tar: %q", b)
	}
}

// An archive podman wrote loads and runs: podman loads skiff's archive into
// a private store, saves it again as a docker-archive of several images and
// as an OCI archive, and skiff loads each into a clean store.
func TestI15ArchiveLoadPodman(t *testing.T) {
	requireEnv(t)
	podman, why := i13interopPodman(t)
	if podman == "" {
		t.Skip(why)
	}
	src := i15archiveSource(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, "skiff.tar")
	src.must(t, "save", "-o", saved, fx.busybox, "multi:v1")
	pd, err := os.MkdirTemp("/tmp", "skiff-pm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pd)
	global := []string{"--root", filepath.Join(pd, "root"), "--runroot", filepath.Join(pd, "run"), "--storage-driver", "vfs"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	defer exec.Command(podman, append(global, "system", "reset", "-f")...).Run()
	pm := func(args ...string) string {
		out, err := exec.CommandContext(ctx, podman, append(global, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	pm("load", "-i", saved)
	// podman names "multi:v1" from manifest.json localhost/multi:v1.
	pm("save", "-m", "-o", filepath.Join(dir, "podman.tar"), fx.busybox, "localhost/multi:v1")
	pm("save", "--format", "oci-archive", "-o", filepath.Join(dir, "podman-oci.tar"), "localhost/multi:v1")
	for _, c := range []struct{ file, name string }{
		{"podman.tar", "localhost/multi:v1"},
		{"podman-oci.tar", "localhost/multi:v1"},
	} {
		t.Run(c.file, func(t *testing.T) {
			dst := newStore(t)
			r := dst.must(t, "load", "-i", filepath.Join(dir, c.file))
			if !strings.Contains(r.stdout, "Loaded image: "+c.name+"\n") {
				t.Errorf("load of podman's %s printed %q", c.file, r.stdout)
			}
			out := dst.must(t, "run", "--rm", "--network", "none", c.name, "cat", "/data/b").stdout
			if out != "b\n" {
				t.Errorf("a container of podman's image printed %q", out)
			}
		})
	}
}

// save refuses a terminal as stdout and load a terminal as stdin, in
// docker's words (script(1) gives the command a terminal).
func TestI15ArchiveTerminal(t *testing.T) {
	requireEnv(t)
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed: no terminal to give skiff")
	}
	st := newStore(t)
	st.must(t, "pull", "-q", fx.other)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"save", fx.other}, "skiff: cowardly refusing to save to a terminal. Use the -o flag or redirect"},
		{[]string{"load"}, "skiff: requested load from stdin, but stdin is empty"},
	} {
		cmd := st.cmd(context.Background(), c.args...)
		line := strings.Join(cmd.Args, " ") + "; echo exit=$?"
		out, _ := exec.Command(scriptBin, "-qec", line, "/dev/null").CombinedOutput()
		if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), "exit=1") {
			t.Errorf("skiff %s on a terminal printed %q, want %q and exit 1", c.args[0], out, c.want)
		}
	}
}
