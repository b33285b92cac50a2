package seccomp

import (
	"encoding/binary"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/net/bpf"
)

// This file holds the tests' reference: an evaluator that reads a
// LinuxSeccomp directly (runc's and libseccomp's semantics, written
// straight from the spec, sharing only the syscall tables and actionOf
// with the compiler), and a runner for compiled programs in x/net/bpf's VM.

// seccompData is the kernel's struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// bytesForVM lays d out for x/net/bpf's VM, which loads words big-endian:
// each 32-bit word is stored so that the VM reads the value the kernel
// reads natively (little-endian: an argument's low word first).
func (d seccompData) bytesForVM() []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], d.nr)
	binary.BigEndian.PutUint32(b[4:], d.arch)
	for i, a := range d.args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

// vm loads p into x/net/bpf's VM.
func vm(t testing.TB, p *Program) *bpf.VM {
	t.Helper()
	var insns []bpf.Instruction
	for i := 0; i < p.Len(); i++ {
		b := p.Insns[i*insnSize:]
		raw := bpf.RawInstruction{Op: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
		insns = append(insns, raw.Disassemble())
	}
	v, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("the VM refuses the program: %v", err)
	}
	return v
}

func run(t testing.TB, v *bpf.VM, d seccompData) uint32 {
	t.Helper()
	r, err := v.Run(d.bytesForVM())
	if err != nil {
		t.Fatalf("running %+v: %v", d, err)
	}
	return uint32(r)
}

// reference evaluates s for d as runc (on libseccomp) would, native being
// the host's ABI.
func reference(t testing.TB, s *specs.LinuxSeccomp, native *abi, d seccompData) uint32 {
	def := mustAction(t, s.DefaultAction, s.DefaultErrnoRet)
	inFilter := []*abi{native}
	for _, n := range s.Architectures {
		if a := abiByName(string(n)); a != nil && !slices.Contains(inFilter, a) {
			inFilter = append(inFilter, a)
		}
	}
	find := func(name string) *abi {
		if a := abiByName(name); slices.Contains(inFilter, a) {
			return a
		}
		return nil
	}
	// runc's ENOSYS stub runs first; on x86_64 it tells x32 by the bit.
	var stubABI *abi
	for _, a := range inFilter {
		if a.audit == d.arch && (a.audit != auditArchX86_64 || (a.name == "SCMP_ARCH_X32") == (d.nr&x32Bit != 0)) {
			stubABI = a
		}
	}
	stub := def != retAllow && def != retLog && def&0xffff0000 != retTrace && def != retErrno|38
	if stubABI != nil && stub {
		highest := highestNamed(s, stubABI)
		if highest > 0 && d.nr > highest {
			return retErrno | 38
		}
	}
	// Then libseccomp's filter: the arch, x86_64's split at the x32 bit.
	var caller *abi
	switch x64, x32 := find("SCMP_ARCH_X86_64"), find("SCMP_ARCH_X32"); {
	case d.arch == auditArchX86_64 && x64 != nil && x32 == nil:
		if d.nr >= x32Bit && d.nr != 0xffffffff {
			return retBadArch
		}
		caller = x64
	case d.arch == auditArchX86_64 && x32 != nil && x64 == nil:
		if d.nr < x32Bit {
			return retBadArch
		}
		caller = x32
	case d.arch == auditArchX86_64 && x32 != nil && x64 != nil:
		caller = x64
		if d.nr&x32Bit != 0 {
			caller = x32
		}
	default:
		caller = stubABI
	}
	if caller == nil {
		return retBadArch
	}
	// The rules naming this syscall (action not the default).
	type match struct {
		action uint32
		args   []specs.LinuxSeccompArg
	}
	var rules []match
	name := nameOf(caller, d.nr)
	if name != "" {
		for _, sc := range s.Syscalls {
			if act := mustAction(t, sc.Action, sc.ErrnoRet); act != def && slices.Contains(sc.Names, name) {
				rules = append(rules, match{act, sc.Args})
			}
		}
	}
	// The first unconditional rule decides.
	for _, r := range rules {
		if len(r.args) == 0 {
			return r.action
		}
	}
	for _, r := range rules {
		if argsHold(r.args, d, caller.is32) {
			return r.action
		}
	}
	return def
}

// argsHold is whether d satisfies args: all of them, or, when two test the
// same argument, any of them (runc then makes each a rule of its own).
func argsHold(args []specs.LinuxSeccompArg, d seccompData, is32 bool) bool {
	shared := false
	for i := range args {
		for j := range i {
			shared = shared || args[i].Index == args[j].Index
		}
	}
	for _, a := range args {
		ok := argHolds(a, d.args[a.Index], is32)
		if shared && ok {
			return true
		}
		if !shared && !ok {
			return false
		}
	}
	return !shared
}

func argHolds(a specs.LinuxSeccompArg, v uint64, is32 bool) bool {
	x, two := a.Value, a.ValueTwo
	if is32 {
		v, x, two = uint64(uint32(v)), uint64(uint32(x)), uint64(uint32(two))
	}
	switch a.Op {
	case specs.OpEqualTo:
		return v == x
	case specs.OpNotEqual:
		return v != x
	case specs.OpLessThan:
		return v < x
	case specs.OpLessEqual:
		return v <= x
	case specs.OpGreaterThan:
		return v > x
	case specs.OpGreaterEqual:
		return v >= x
	case specs.OpMaskedEqual:
		return v&x == two
	}
	panic("unknown operator " + a.Op)
}

func mustAction(t testing.TB, a specs.LinuxSeccompAction, errno *uint) uint32 {
	t.Helper()
	v, err := actionOf(a, errno)
	if err != nil {
		t.Fatalf("action %s: %v", a, err)
	}
	return v
}

// highestNamed is the highest number s names on a (memoised: the sweeps
// ask for every number).
func highestNamed(s *specs.LinuxSeccomp, a *abi) uint32 {
	key := highestKey{s, a}
	if h, ok := highestMemo[key]; ok {
		return h
	}
	var h uint32
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			if nr, ok := a.lookup(n); ok && nr > h {
				h = nr
			}
		}
	}
	highestMemo[key] = h
	return h
}

type highestKey struct {
	s *specs.LinuxSeccomp
	a *abi
}

var highestMemo = map[highestKey]uint32{}

// nameOf is the name of syscall nr on a, "" if none.
func nameOf(a *abi, nr uint32) string {
	byNr, ok := namesMemo[a]
	if !ok {
		byNr = map[uint32]string{}
		for _, row := range a.table {
			byNr[row.nr] = row.name
		}
		namesMemo[a] = byNr
	}
	return byNr[nr]
}

var namesMemo = map[*abi]map[uint32]string{}
