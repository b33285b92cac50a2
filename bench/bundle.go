package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// skiffNamespaces are the namespaces `skiff run` creates; the bare runtimes
// get exactly these so the comparison is like for like.
var skiffNamespaces = []specs.LinuxNamespaceType{
	specs.MountNamespace, specs.PIDNamespace, specs.UTSNamespace, specs.IPCNamespace, specs.NetworkNamespace,
}

// makeBundle writes an OCI bundle at dir: rootfs/ unpacked from rootfsTar and
// a config.json from `<runtime> spec` running `true`.
func makeBundle(dir, runtime string, rootfsTar string) error {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	if out, err := exec.Command("tar", "-x", "-f", rootfsTar, "-C", rootfs).CombinedOutput(); err != nil {
		return fmt.Errorf("bundle %s: tar -x: %w: %s", dir, err, out)
	}
	cfgPath := filepath.Join(dir, "config.json")
	os.Remove(cfgPath) // `runc spec` refuses to overwrite
	cmd := exec.Command(runtime, "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("bundle %s: %s spec: %w: %s", dir, runtime, err, out)
	}
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", dir, err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("bundle %s: %s spec wrote bad json: %w", dir, runtime, err)
	}
	adaptSpec(&spec)
	b, err = json.MarshalIndent(&spec, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(cfgPath, b, 0o644)
}

// adaptSpec turns a default spec into the benchmark's: `true`, no terminal
// (there is none), skiff's namespaces, and no rlimits because this sandbox
// cannot raise a hard limit (no CAP_SYS_RESOURCE) and the runtime would fail.
func adaptSpec(s *specs.Spec) {
	s.Process.Terminal = false
	s.Process.Args = []string{"true"}
	s.Process.Rlimits = nil
	s.Root.Path = "rootfs"
	s.Linux.Namespaces = nil
	for _, t := range skiffNamespaces {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t})
	}
}

// writeTar copies r into a file at path.
func writeTar(path string, r io.Reader) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
