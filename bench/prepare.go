package main

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// prepareImages starts the local registry and pushes busybox and the
// generated pull image to it. The registry is returned even on error so the
// caller can stop it.
func (e *env) prepareImages() (*testenv.Registry, error) {
	reg, err := testenv.StartRegistry(filepath.Join(e.work, "registry"))
	if err != nil {
		return nil, err
	}
	e.registry = reg.Addr
	e.bbRef = reg.Addr + "/library/busybox:latest"
	e.fatRef = reg.Addr + "/bench/fat:latest"

	bb, err := busyboxImage()
	if err != nil {
		return reg, err
	}
	if _, err := testenv.Push(bb, e.bbRef); err != nil {
		return reg, err
	}
	e.bbTar = filepath.Join(e.work, "busybox-rootfs.tar")
	rc := mutate.Extract(bb)
	defer rc.Close()
	if err := writeTar(e.bbTar, rc); err != nil {
		return reg, fmt.Errorf("busybox rootfs tar: %w", err)
	}

	if e.o.pullN <= 0 && e.o.pushN <= 0 {
		return reg, nil // no pull or push tables: spare the generation
	}
	t := time.Now()
	dir := filepath.Join(e.work, "fat")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return reg, err
	}
	e.logf("generating the %d-layer pull image", len(fatPlan))
	if e.fat, err = generateLayers(dir, fatPlan, fatSeed); err != nil {
		return reg, err
	}
	img, err := fatImage(e.fat)
	if err != nil {
		return reg, err
	}
	if _, err := testenv.Push(img, e.fatRef); err != nil {
		return reg, err
	}
	e.logf("pull image generated and pushed in %s", time.Since(t).Round(100*time.Millisecond))
	return reg, nil
}

func fatImage(layers []*genLayer) (v1.Image, error) {
	var ls []v1.Layer
	for _, g := range layers {
		l, err := partial.CompressedToLayer(g)
		if err != nil {
			return nil, fmt.Errorf("pull image: %w", err)
		}
		ls = append(ls, l)
	}
	return testenv.ImageFromLayers(empty.Image, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}, ls...)
}

// busyboxImage is testenv's busybox with its applet hardlinks carrying
// busybox's own mode 0755: testenv leaves them 0644, and podman (like
// docker) applies a hardlink entry's mode to the shared inode, which leaves
// /bin/busybox not executable ("exec: /bin/busybox: permission denied").
func busyboxImage() (v1.Image, error) {
	files, err := testenv.BusyboxFiles()
	if err != nil {
		return nil, err
	}
	for i := range files {
		if files[i].Type == tar.TypeLink && files[i].Link == "bin/busybox" {
			files[i].Mode = 0o755
		}
	}
	l, err := testenv.LayerFromFiles(files)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	return testenv.ImageFromLayers(empty.Image, v1.Config{
		Cmd: []string{"sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
	}, l)
}
