package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxPath is the host's static busybox (package busybox-static).
var BusyboxPath = "/bin/busybox"

// Epoch is the mtime of every fixture entry, so fixtures (and their digests)
// are the same on every run and layers are shared between images.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// File is one tar entry. Name is written as given, never cleaned, so hostile
// names ("../x", "/x") can be made.
type File struct {
	Name     string
	Type     byte   // tar.TypeReg when 0; tar.TypeDir, tar.TypeSymlink, tar.TypeLink
	Body     string // regular file content
	Link     string // symlink or hardlink target
	Mode     int64  // 0644 file, 0755 dir, 0777 symlink when 0
	UID, GID int
}

// Dir, Reg, Symlink, Hardlink, Whiteout and Opaque build the common entries.
func Dir(name string) File              { return File{Name: name, Type: tar.TypeDir} }
func Reg(name, body string) File        { return File{Name: name, Body: body} }
func Symlink(name, target string) File  { return File{Name: name, Type: tar.TypeSymlink, Link: target} }
func Hardlink(name, target string) File { return File{Name: name, Type: tar.TypeLink, Link: target} }
func Whiteout(dir, name string) File    { return Reg(join(dir, ".wh."+name), "") }
func Opaque(dir string) File            { return Reg(join(dir, ".wh..wh..opq"), "") }
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimSuffix(dir, "/") + "/" + name
}

// TarBytes writes files as an uncompressed tar.
func TarBytes(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{
			Name: f.Name, Typeflag: f.Type, Linkname: f.Link, Mode: f.Mode,
			Uid: f.UID, Gid: f.GID, ModTime: Epoch, Format: tar.FormatPAX,
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = map[byte]int64{tar.TypeDir: 0o755, tar.TypeSymlink: 0o777}[h.Typeflag]
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar entry %q: %w", f.Name, err)
		}
		if h.Size > 0 {
			if _, err := io.WriteString(tw, f.Body); err != nil {
				return nil, fmt.Errorf("tar entry %q: %w", f.Name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// LayerFromFiles builds a gzip layer in memory from files, entries in order.
func LayerFromFiles(files []File) (v1.Layer, error) {
	raw, err := TarBytes(files)
	if err != nil {
		return nil, err
	}
	return LayerFromTar(raw)
}

// LayerFromTar wraps an uncompressed tar as a gzip layer.
func LayerFromTar(raw []byte) (v1.Layer, error) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz) // no name or mtime in the header: same bytes every run
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	b := gz.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b)), nil
	})
}

// RandomLayer is one file of size incompressible bytes (seeded, so the same
// seed gives the same layer): a layer that takes a while to download.
func RandomLayer(path string, size int, seed int64) (v1.Layer, error) {
	body := make([]byte, size)
	rand.New(rand.NewSource(seed)).Read(body)
	return LayerFromFiles([]File{{Name: path, Body: string(body)}})
}

// BusyboxFiles is the busybox root filesystem: bin/busybox with every applet
// linked to it, passwd/group with root and app (1000:1000), and the usual dirs.
func BusyboxFiles() ([]File, error) {
	bin, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w (apt-get install busybox-static)", err)
	}
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("busybox image: %s --list: %w", BusyboxPath, err)
	}
	files := []File{
		Dir("bin"), Dir("dev"), Dir("etc"), Dir("home"), {Name: "home/app", Type: tar.TypeDir, UID: 1000, GID: 1000},
		Dir("proc"), {Name: "root", Type: tar.TypeDir, Mode: 0o700}, Dir("sys"),
		{Name: "tmp", Type: tar.TypeDir, Mode: 0o1777}, Dir("usr"), Dir("usr/bin"), Dir("var"),
		{Name: "bin/busybox", Body: string(bin), Mode: 0o755},
		Reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"),
		Reg("etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"),
		Reg("etc/hostname", "busybox\n"),
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" {
			continue
		}
		// A hard link's header carries its inode's mode, as real tar
		// writers record it: podman applies it to the shared inode.
		link := Hardlink("bin/"+applet, "bin/busybox")
		link.Mode = 0o755
		files = append(files, link)
	}
	return files, nil
}

// BusyboxImage is a one-layer image of BusyboxFiles with Cmd ["sh"].
func BusyboxImage() (v1.Image, error) {
	files, err := BusyboxFiles()
	if err != nil {
		return nil, err
	}
	l, err := LayerFromFiles(files)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	return ImageFromLayers(empty.Image, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}, l)
}

// ImageFromLayers appends layers to base and sets its config, OS and architecture.
func ImageFromLayers(base v1.Image, cfg v1.Config, layers ...v1.Layer) (v1.Image, error) {
	img, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		return nil, fmt.Errorf("append layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Created = v1.Time{Time: Epoch}
	return mutate.ConfigFile(img, cf)
}

// Push writes img to ref (plain http allowed) and returns the manifest digest.
func Push(img v1.Image, ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	if err := remote.Write(r, img); err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", fmt.Errorf("push %s: %w", ref, err)
	}
	return d.String(), nil
}
