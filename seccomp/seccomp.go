package seccomp

import (
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Program is a compiled filter as the kernel takes it.
type Program struct {
	// Insns is the filter's struct sock_filter array in the kernel's
	// layout (8 bytes each, native byte order).
	Insns []byte `json:"insns"`
	// Flags are the SECCOMP_FILTER_FLAG_* bits the profile asks for
	// (LinuxSeccomp.Flags); Load adds what it needs itself.
	Flags uint `json:"flags,omitempty"`
}

// Compile compiles s for the architecture skiff was built for (and the
// compat ABIs s lists: x86_64 with x86 and x32, aarch64 with arm), with
// runc's semantics. A nil s or one with no rules and an allow default
// compiles to nil: nothing to load.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	return nil, errors.New("seccomp: compiler not written yet")
}

// Cached is Compile for raw, a LinuxSeccomp as config.json holds it (JSON),
// through the cache directory dir (a runroot's, on tmpfs): the program
// compiled earlier for the same bytes, by this compiler, for this
// architecture, else a new compilation stored there atomically. dir ""
// skips the cache. raw empty or "null" means no filter (nil, nil).
func Cached(dir string, raw []byte) (*Program, error) {
	return nil, errors.New("seccomp: compiler not written yet")
}
