package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// fixtures are the references TestMain pushed, and what tests check them by.
type fixtures struct {
	busybox, busyboxDigest, busyboxID, busyboxDiffID string
	multi, other                                     string
	hostile                                          map[string]string // case -> ref
	markerDir                                        string            // hostile tars aim here; must stay empty
	victim                                           string            // a file hostile hardlinks aim at
	tampered, truncated                              string
	big, bigDiffID                                   string
	bigSize                                          int
	stopsig                                          string // busybox with StopSignal SIGUSR1 and a label
}

const victimContent = "victim: must not change\n"

func pushFixtures(r *testenv.Registry) (*fixtures, error) {
	f := &fixtures{hostile: map[string]string{}}
	f.markerDir = filepath.Join(workDir, "marker")
	if err := os.MkdirAll(f.markerDir, 0o755); err != nil {
		return nil, err
	}
	f.victim = filepath.Join(workDir, "victim")
	if err := os.WriteFile(f.victim, []byte(victimContent), 0o644); err != nil {
		return nil, err
	}
	at := func(repo string) string { return r.Addr + "/" + repo + ":latest" }

	bb, err := testenv.BusyboxImage()
	if err != nil {
		return nil, err
	}
	f.busybox = at("library/busybox")
	if f.busyboxDigest, err = testenv.Push(bb, f.busybox); err != nil {
		return nil, err
	}
	id, _ := bb.ConfigName()
	f.busyboxID = id.String()
	ls, _ := bb.Layers()
	diff, _ := ls[0].DiffID()
	f.busyboxDiffID = diff.String()

	if f.multi, err = pushOnBusybox(bb, at("library/multi"),
		[]testenv.File{testenv.Dir("data"), testenv.Reg("data/a", "a\n"), testenv.Reg("data/b", "b\n"),
			testenv.Dir("data/dir"), testenv.Reg("data/dir/x", "x\n")},
		[]testenv.File{testenv.Whiteout("data", "a"), testenv.Opaque("data/dir"), testenv.Reg("data/dir/y", "y\n")},
	); err != nil {
		return nil, err
	}
	if f.other, err = pushOnBusybox(bb, at("library/other"), []testenv.File{testenv.Reg("etc/other", "other\n")}); err != nil {
		return nil, err
	}
	cf, _ := bb.ConfigFile()
	sc := cf.Config
	sc.StopSignal = "SIGUSR1"
	sc.Labels = map[string]string{"e2e.fixture": "stopsig"}
	if f.stopsig, err = pushOnBusyboxConfig(bb, at("library/stopsig"), sc); err != nil {
		return nil, err
	}
	if err := pushHostile(f, r); err != nil {
		return nil, err
	}
	if err := pushBroken(f, r); err != nil {
		return nil, err
	}
	f.bigSize = 24 << 20
	big, err := testenv.RandomLayer("big", f.bigSize, 1)
	if err != nil {
		return nil, err
	}
	d, _ := big.DiffID()
	f.bigDiffID = d.String()
	img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, big)
	if err != nil {
		return nil, err
	}
	f.big = at("library/big")
	if _, err := testenv.Push(img, f.big); err != nil {
		return nil, err
	}
	return f, nil
}

func pushOnBusybox(base v1.Image, ref string, layers ...[]testenv.File) (string, error) {
	var ls []v1.Layer
	for _, files := range layers {
		l, err := testenv.LayerFromFiles(files)
		if err != nil {
			return "", err
		}
		ls = append(ls, l)
	}
	cf, _ := base.ConfigFile()
	img, err := testenv.ImageFromLayers(base, cf.Config, ls...)
	if err != nil {
		return "", err
	}
	_, err = testenv.Push(img, ref)
	return ref, err
}

// pushOnBusyboxConfig pushes busybox with another config (same layer).
func pushOnBusyboxConfig(base v1.Image, ref string, cfg v1.Config) (string, error) {
	img, err := testenv.ImageFromLayers(base, cfg)
	if err != nil {
		return "", err
	}
	_, err = testenv.Push(img, ref)
	return ref, err
}

// dotdots climbs from any layer dir to /.
var dotdots = strings.Repeat("../", 40)

// hostileCases are layers that try to write outside the layer dir.
// mustFail: docker rejects these outright. The symlink-following cases may
// instead be resolved inside the layer (as containerd does); either is safe,
// as long as nothing lands outside the store.
func hostileCases(f *fixtures) map[string]struct {
	files    []testenv.File
	mustFail bool
} {
	m := strings.TrimPrefix(f.markerDir, "/")
	v := strings.TrimPrefix(f.victim, "/")
	type c = struct {
		files    []testenv.File
		mustFail bool
	}
	return map[string]c{
		"dotdot":        {[]testenv.File{testenv.Reg("../escape", "x"), testenv.Reg(dotdots+m+"/dotdot", "x")}, true},
		"absolute":      {[]testenv.File{testenv.Reg("/"+m+"/absolute", "x")}, false}, // docker joins it under the layer
		"symlink":       {[]testenv.File{testenv.Symlink("link", f.markerDir), testenv.Reg("link/owned", "x")}, false},
		"relsymlink":    {[]testenv.File{testenv.Dir("a"), testenv.Dir("a/b"), testenv.Symlink("a/b/up", dotdots), testenv.Reg("a/b/up/"+m+"/rel", "x")}, false},
		"hardlink":      {[]testenv.File{testenv.Hardlink("passwd", "/etc/passwd")}, true},
		"hardlinkwrite": {[]testenv.File{testenv.Hardlink("v", dotdots+v), testenv.Reg("v", "owned\n")}, true},
	}
}

func pushHostile(f *fixtures, r *testenv.Registry) error {
	for name, c := range hostileCases(f) {
		l, err := testenv.LayerFromFiles(c.files)
		if err != nil {
			return fmt.Errorf("hostile %s: %w", name, err)
		}
		img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, l)
		if err != nil {
			return err
		}
		ref := r.Addr + "/evil/" + name + ":latest"
		if _, err := testenv.Push(img, ref); err != nil {
			return err
		}
		f.hostile[name] = ref
	}
	return nil
}

// storedLayer gzips a tar without compression, so two tars of equal length
// give blobs of equal length: swapping one for the other in the registry's
// storage serves a valid gzip whose digest is wrong.
func storedLayer(files []testenv.File) (v1.Layer, []byte, error) {
	raw, err := testenv.TarBytes(files)
	if err != nil {
		return nil, nil, err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	zw.Write(raw)
	zw.Close()
	b := gz.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	return l, b, err
}

// pushBroken pushes an image whose layer blob the registry then serves with
// different content (same size), and one whose blob it serves cut in half.
func pushBroken(f *fixtures, r *testenv.Registry) error {
	good, _, err := storedLayer([]testenv.File{testenv.Reg("tampered", strings.Repeat("A", 4096))})
	if err != nil {
		return err
	}
	_, evil, err := storedLayer([]testenv.File{testenv.Reg("tampered", strings.Repeat("B", 4096))})
	if err != nil {
		return err
	}
	if f.tampered, err = pushOne(r, "broken/tampered", good); err != nil {
		return err
	}
	d, _ := good.Digest()
	if err := os.WriteFile(r.BlobPath(d.String()), evil, 0o644); err != nil {
		return fmt.Errorf("tamper with blob: %w", err)
	}

	trunc, err := testenv.RandomLayer("truncated", 256<<10, 2)
	if err != nil {
		return err
	}
	if f.truncated, err = pushOne(r, "broken/truncated", trunc); err != nil {
		return err
	}
	d, _ = trunc.Digest()
	p := r.BlobPath(d.String())
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	return os.Truncate(p, st.Size()/2)
}

func pushOne(r *testenv.Registry, repo string, l v1.Layer) (string, error) {
	img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, l)
	if err != nil {
		return "", err
	}
	ref := r.Addr + "/" + repo + ":latest"
	_, err = testenv.Push(img, ref)
	return ref, err
}

// tarNames is for messages: the entry names of a layer's files.
func tarNames(files []testenv.File) string {
	var n []string
	for _, f := range files {
		s := f.Name
		if f.Type == tar.TypeSymlink || f.Type == tar.TypeLink {
			s += " -> " + f.Link
		}
		n = append(n, s)
	}
	return strings.Join(n, ", ")
}

// testProgImages holds, per test program, its image's reference or error.
var testProgImages sync.Map // prog name -> func() (string, error)

// testProgImage is busybox with /bin/PROG, the static test program built
// here from testdata/PROG, pushed to the test registry as
// library/PROG once per run: the tools busybox lacks (network clients and
// servers, system-call probes).
func testProgImage(t *testing.T, prog string) string {
	t.Helper()
	requireEnv(t)
	build, _ := testProgImages.LoadOrStore(prog, sync.OnceValues(func() (string, error) { return buildTestProgImage(prog) }))
	ref, err := build.(func() (string, error))()
	if err != nil {
		t.Fatalf("the %s test image: %v", prog, err)
	}
	return ref
}

// testProgsEnv names a directory of the testdata programs built
// beforehand (scripts/e2e-v2.sh builds them on the host: its guest has no
// Go toolchain).
const testProgsEnv = "SKIFF_E2E_PROGS"

// testProgPath is where testdata program prog's binary is on the host
// (once testProgBinary built it).
func testProgPath(prog string) string {
	if dir := os.Getenv(testProgsEnv); dir != "" {
		return filepath.Join(dir, prog)
	}
	return filepath.Join(workDir, prog)
}

// testProgBuilds holds, per test program, its binary's path or error.
var testProgBuilds sync.Map // prog name -> func() (string, error)

// testProgBinary is the path of testdata program prog's static binary,
// built once per run (unless testProgsEnv names where it was built), for
// images and for the harness's own use (issue 21's fake upstream host).
func testProgBinary(prog string) (string, error) {
	build, _ := testProgBuilds.LoadOrStore(prog, sync.OnceValues(func() (string, error) {
		bin := testProgPath(prog)
		if os.Getenv(testProgsEnv) == "" {
			_, file, _, _ := runtime.Caller(0)
			cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./testdata/"+prog)
			cmd.Dir = filepath.Dir(file)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("go build %s: %v\n%s", prog, err, out)
			}
		}
		return bin, nil
	}))
	return build.(func() (string, error))()
}

func buildTestProgImage(prog string) (string, error) {
	bin, err := testProgBinary(prog)
	if err != nil {
		return "", err
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	bb, err := testenv.BusyboxImage()
	if err != nil {
		return "", err
	}
	return pushOnBusybox(bb, reg.Addr+"/library/"+prog+":latest",
		[]testenv.File{{Name: "bin/" + prog, Body: string(body), Mode: 0o755}})
}
