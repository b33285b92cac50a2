package seccomp

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

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

// Len is the number of instructions in p.
func (p *Program) Len() int { return len(p.Insns) / insnSize }

// insnSize is sizeof(struct sock_filter).
const insnSize = 8

// compilerVersion changes whenever the compiler's output for a profile
// may change, so that cached programs of an older skiff are not reused.
const compilerVersion = "skiff-seccomp-1"

// Compile compiles s for the architecture skiff was built for (and the
// compat ABIs s lists: x86_64 with x86 and x32, aarch64 with arm), with
// runc's semantics. A nil s or one with no rules and an allow default
// compiles to nil: nothing to load.
func Compile(s *specs.LinuxSeccomp) (*Program, error) {
	native := nativeABI()
	if native == nil {
		return nil, fmt.Errorf("seccomp: architecture %s not supported", runtime.GOARCH)
	}
	return compileFor(s, native)
}

func compileFor(s *specs.LinuxSeccomp, native *abi) (*Program, error) {
	if s == nil || (len(s.Syscalls) == 0 && s.DefaultAction == specs.ActAllow) {
		return nil, nil
	}
	p, err := resolve(s, native)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	raw, _, err := generate(p).assemble()
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %w", err)
	}
	return &Program{Insns: raw, Flags: p.flags}, nil
}

// Cached is Compile for raw, a LinuxSeccomp as config.json holds it (JSON),
// through the cache directory dir (a runroot's, on tmpfs): the program
// compiled earlier for the same bytes, by this compiler, for this
// architecture, else a new compilation stored there atomically. dir ""
// skips the cache. raw empty or "null" means no filter (nil, nil).
func Cached(dir string, raw []byte) (*Program, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var path string
	if dir != "" {
		path = filepath.Join(dir, cacheKey(raw))
		if p, ok := readCached(path); ok {
			return p, nil
		}
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("seccomp profile: decoding: %w", err)
	}
	p, err := Compile(&s)
	if err != nil || path == "" {
		return p, err
	}
	if err := writeCached(path, p); err != nil {
		return nil, err
	}
	return p, nil
}

func cacheKey(raw []byte) string {
	h := sha256.New()
	h.Write(raw)
	h.Write([]byte("\x00" + compilerVersion + "\x00" + runtime.GOARCH))
	return hex.EncodeToString(h.Sum(nil))
}

// A cache file is: magic, flags (uint64), instruction count (uint32),
// the instructions, and the sha256 of everything before it, so that a
// truncated or damaged file is recompiled, never loaded. A count of 0
// records "no filter".
var cacheMagic = []byte("skiffbpf")

const cacheHeader = 8 + 8 + 4

func encodeCached(p *Program) []byte {
	var flags uint64
	var insns []byte
	if p != nil {
		flags, insns = uint64(p.Flags), p.Insns
	}
	b := append([]byte{}, cacheMagic...)
	b = binary.LittleEndian.AppendUint64(b, flags)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(insns)/insnSize))
	b = append(b, insns...)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

func decodeCached(b []byte) (*Program, error) {
	if len(b) < cacheHeader+sha256.Size || !bytes.Equal(b[:8], cacheMagic) {
		return nil, errors.New("not a cached filter")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:]) {
		return nil, errors.New("checksum mismatch")
	}
	n := int(binary.LittleEndian.Uint32(body[16:20]))
	if n > maxInsns || len(body) != cacheHeader+n*insnSize {
		return nil, fmt.Errorf("length %d does not match %d instructions", len(body), n)
	}
	if n == 0 {
		return nil, nil
	}
	return &Program{Insns: body[cacheHeader:], Flags: uint(binary.LittleEndian.Uint64(body[8:16]))}, nil
}

// readCached is the program at path, or false when there is none or it
// is not valid (then the caller compiles and replaces it).
func readCached(path string) (*Program, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	p, err := decodeCached(b)
	return p, err == nil
}

// writeCached stores p at path through a temporary file and a rename, so
// a reader sees the whole file or none.
func writeCached(path string, p *Program) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if _, err := f.Write(encodeCached(p)); err != nil {
		f.Close()
		return fmt.Errorf("seccomp cache: writing %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("seccomp cache: writing %s: %w", f.Name(), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("seccomp cache: %w", err)
	}
	return nil
}
