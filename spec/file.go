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
func Write(dir string, sp *specs.Spec) error {
	b, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s: %w", File, err)
	}
	return os.WriteFile(filepath.Join(dir, File), b, 0o600)
}

// Read loads container id's OCI config from its directory dir.
func Read(dir, id string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return nil, fmt.Errorf("container %s: reading its config: %w", shortid.Of(id), err)
	}
	var sp specs.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("container %s: %s is corrupt: %w", shortid.Of(id), File, err)
	}
	return &sp, nil
}
