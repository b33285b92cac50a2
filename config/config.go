package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Paths says where skiff keeps what survives a reboot (Root: images, layers,
// container records) and what does not (RunRoot: pids, locks, sockets).
type Paths struct {
	Root    string
	RunRoot string
}

// DefaultPaths returns podman's layout: /var/lib/skiff and /run/skiff for root,
// $XDG_DATA_HOME/skiff and $XDG_RUNTIME_DIR/skiff for any other user.
func DefaultPaths() Paths {
	if os.Geteuid() == 0 {
		return Paths{Root: "/var/lib/skiff", RunRoot: "/run/skiff"}
	}
	home, _ := os.UserHomeDir()
	data := os.Getenv("XDG_DATA_HOME")
	if data == "" {
		data = filepath.Join(home, ".local", "share")
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	if rt == "" {
		// No session runtime dir (no logind): fall back to a per-user dir in
		// /tmp, as podman does, rather than guessing /run/user/UID exists.
		rt = filepath.Join(os.TempDir(), fmt.Sprintf("skiff-run-%d", os.Geteuid()))
	}
	return Paths{Root: filepath.Join(data, "skiff"), RunRoot: filepath.Join(rt, "skiff")}
}

// File is the JSON config file, a subset of docker's daemon.json.
type File struct {
	InsecureRegistries []string `json:"insecure-registries,omitempty"`
}

// DefaultFilePath is /etc/skiff/config.json for root and
// $XDG_CONFIG_HOME/skiff/config.json otherwise.
func DefaultFilePath() string {
	if os.Geteuid() == 0 {
		return "/etc/skiff/config.json"
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "skiff", "config.json")
}

// LoadFile reads the config file at path; a missing file is an empty config.
func LoadFile(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("reading config %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("parsing config %s: %w (fix the JSON or remove the file)", path, err)
	}
	return f, nil
}
