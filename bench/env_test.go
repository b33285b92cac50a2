package main

import (
	"archive/tar"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestUnder(t *testing.T) {
	for _, tc := range []struct {
		path, dir string
		want      bool
	}{
		{"/var/tmp/x", "/", true},
		{"/var/tmp/bench-ext4/a", "/var/tmp/bench-ext4", true},
		{"/var/tmp/bench-ext4", "/var/tmp/bench-ext4", true},
		{"/var/tmp/bench-ext4-other", "/var/tmp/bench-ext4", false},
		{"/x/pull-10", "/x/pull-1", false},
	} {
		t.Run(tc.path+" in "+tc.dir, func(t *testing.T) {
			if got := under(tc.path, tc.dir); got != tc.want {
				t.Errorf("under(%q, %q) = %v, want %v", tc.path, tc.dir, got, tc.want)
			}
		})
	}
}

func TestMountOf(t *testing.T) {
	m, err := mountOf("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if m.FSType != "proc" || m.Mountpoint != "/proc" {
		t.Errorf("/proc/self/status is on %s at %s, want proc at /proc", m.FSType, m.Mountpoint)
	}
	if !isMountpoint("/proc") || isMountpoint("/proc/self/fd") {
		t.Error("isMountpoint: /proc is one, /proc/self/fd is not")
	}
}

// TestMakeBundle drives makeBundle with a stand-in runtime whose `spec`
// writes a runc-like default, and checks the bundle a bare runtime gets.
func TestMakeBundle(t *testing.T) {
	dir := t.TempDir()
	def := specs.Spec{
		Process: &specs.Process{Terminal: true, Args: []string{"sh"}, Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}}},
		Root:    &specs.Root{Path: "rootfs", Readonly: true},
		Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.CgroupNamespace}}},
	}
	b, _ := json.Marshal(def)
	rt := filepath.Join(dir, "fake-runc")
	script := "#!/bin/sh\n[ \"$1\" = spec ] || exit 2\n[ -e config.json ] && exit 3\ncat > config.json <<'X'\n" + string(b) + "\nX\n"
	if err := os.WriteFile(rt, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(dir, "rootfs.tar")
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "true"), []byte("x"), 0o755)
	if err := writeTarOf(src, tarPath); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "bundle")
	// Twice: a second store's bundle, or a rerun, must not trip on the old config.json.
	for range 2 {
		if err := makeBundle(bundle, rt, tarPath); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(bundle, "rootfs", "bin", "true")); err != nil {
		t.Errorf("rootfs not unpacked: %v", err)
	}
	var got specs.Spec
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range got.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	if got.Process.Terminal || got.Process.Rlimits != nil || !slices.Equal(got.Process.Args, []string{"true"}) ||
		!got.Root.Readonly || !slices.Equal(ns, skiffNamespaces) {
		t.Errorf("config.json not adapted: %s", b)
	}
}

func writeTarOf(src, out string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	return tarDir(src, f)
}

func TestCheckUnpacked(t *testing.T) {
	e := &env{fat: []*genLayer{{files: 2}, {files: 1}}}
	dir := t.TempDir()
	for i, name := range []string{"a", "b", "c"} {
		if i == 2 {
			if err := e.checkUnpacked(0, dir, nil); err == nil || !strings.Contains(err.Error(), "not a full unpack") {
				t.Errorf("2 of 3 files: err %v, want not a full unpack", err)
			}
			if err := e.checkUnpacked(1, dir, nil); err != nil {
				t.Errorf("only the first iteration is checked, got %v", err)
			}
		}
		os.WriteFile(filepath.Join(dir, name), nil, 0o644)
	}
	if err := e.checkUnpacked(0, dir, nil); err != nil {
		t.Errorf("all files there: %v", err)
	}
}

// tarDir writes src's regular files and dirs as a tar (enough for a rootfs fixture).
func tarDir(src string, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name, _ = filepath.Rel(src, p)
		if err := tw.WriteHeader(h); err != nil || !fi.Mode().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err == nil {
			_, err = tw.Write(b)
		}
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
