package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/internal/shortid"
)

// File is the OCI config's name in a container's directory.
const File = "config.json"

// Write stores a container's OCI config in its directory dir, made once
// at create from the record: the runtime's input (the init's config,
// exec's base process), never read back as the container's configuration.
func Write(dir string, sp *specs.Spec) ([]byte, error) {
	b, err := json.Marshal(sp)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", File, err)
	}
	return b, os.WriteFile(filepath.Join(dir, File), b, 0o600)
}

// ReadExecSettings is what an exec'd process takes of container id's
// config.json: its process settings and its seccomp filter (the profile,
// undecoded: seccomp.Cached keys its cache by these bytes).
func ReadExecSettings(dir, id string) (*specs.Process, json.RawMessage, error) {
	b, err := ReadRaw(dir, id)
	if err != nil {
		return nil, nil, err
	}
	var sp struct {
		Process *specs.Process `json:"process"`
		Linux   struct {
			Seccomp json.RawMessage `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, nil, fmt.Errorf("container %s: %s is corrupt: %w", shortid.Of(id), File, err)
	}
	return sp.Process, sp.Linux.Seccomp, nil
}

// RawSeccomp is the linux.seccomp object of raw, a config.json, undecoded
// (nil when it has none): the start compiles it through the cache
// without decoding the whole OCI config.
func RawSeccomp(raw []byte) (json.RawMessage, error) {
	var sp struct {
		Linux struct {
			Seccomp json.RawMessage `json:"seccomp"`
		} `json:"linux"`
	}
	if err := json.Unmarshal(raw, &sp); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", File, err)
	}
	return sp.Linux.Seccomp, nil
}

// WithProcessEnv is raw, a config.json, with process.env replaced by
// edit's result, for one start (the file is left as it is). Only the
// objects on the way are decoded, as raw messages: the rest is copied
// through, without the OCI types' reflection (see ReadRaw).
func WithProcessEnv(raw []byte, edit func(env []string) []string) ([]byte, error) {
	var doc, process map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", File, err)
	}
	if err := json.Unmarshal(doc["process"], &process); err != nil || process == nil {
		return nil, fmt.Errorf("%s is corrupt: no process object", File)
	}
	var env []string
	if e, ok := process["env"]; ok {
		if err := json.Unmarshal(e, &env); err != nil {
			return nil, fmt.Errorf("%s is corrupt: process.env: %w", File, err)
		}
	}
	var err error
	if process["env"], err = json.Marshal(edit(env)); err != nil {
		return nil, err
	}
	if doc["process"], err = json.Marshal(process); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

// ReadRaw is container id's config.json as it is on disk, undecoded: the
// monitor passes it to the init, which decodes it. Decoding the OCI types
// the first time in a process costs ~1.5 ms of reflection, on run's path.
func ReadRaw(dir, id string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, fmt.Errorf("container %s: reading its config: %w", shortid.Of(id), err)
	}
	return b, nil
}
