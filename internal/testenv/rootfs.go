package testenv

import (
	"fmt"
	"os"
	"path/filepath"
)

// RootfsApplets are the busybox applets WriteRootfs links in /bin.
var RootfsApplets = []string{"sh", "cat", "grep", "hostname", "id", "ls", "echo", "pwd", "stat", "wc", "readlink"}

// WriteRootfs lays out, in the existing dir, the one-layer root the
// runtime's own tests start containers from (no registry, no store): the
// host's static busybox with RootfsApplets, /etc/passwd and /etc/group with
// root and alice (1000), /home/alice, and a /notexec that is not
// executable. dir gets an image root's mode, 0755.
func WriteRootfs(dir string) error {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return fmt.Errorf("needs a static busybox: %w", err)
	}
	steps := []func() error{
		func() error { return os.Chmod(dir, 0o755) },
		func() error { return os.MkdirAll(filepath.Join(dir, "bin"), 0o755) },
		func() error { return os.MkdirAll(filepath.Join(dir, "etc"), 0o755) },
		func() error { return os.MkdirAll(filepath.Join(dir, "home/alice"), 0o755) },
		func() error { return os.WriteFile(filepath.Join(dir, "bin/busybox"), bb, 0o755) },
		func() error {
			for _, a := range RootfsApplets {
				if err := os.Symlink("busybox", filepath.Join(dir, "bin", a)); err != nil {
					return err
				}
			}
			return nil
		},
		func() error {
			return os.WriteFile(filepath.Join(dir, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n"), 0o644)
		},
		func() error {
			return os.WriteFile(filepath.Join(dir, "etc/group"), []byte("root:x:0:\nwheel:x:10:root\nalice:x:1000:\n"), 0o644)
		},
		func() error { return os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("test rootfs in %s: %w", dir, err)
		}
	}
	return nil
}
