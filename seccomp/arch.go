package seccomp

import (
	"runtime"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

//go:generate go run gen_sysnum.go

// sysnum is one row of a syscall table (zsysnum.go): tables are sorted
// slices, not maps, so that they are static data with no init work.
type sysnum struct {
	name string
	nr   uint32
}

// The AUDIT_ARCH_* values seccomp_data.arch carries.
const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAarch64 = 0xc00000b7
	auditArchArm     = 0x40000028
)

// x32Bit marks an x32 syscall number; x32 shares AUDIT_ARCH_X86_64.
const x32Bit = 0x40000000

// abi is one syscall ABI a filter can name (an SCMP_ARCH_*).
type abi struct {
	name  string // the SCMP_ARCH_* name
	audit uint32 // seccomp_data.arch
	table []sysnum
	is32  bool // 32-bit arguments: only the low word is compared, as libseccomp
}

// abis are the ABIs skiff has syscall tables for. A profile may name other
// architectures (mips, ppc…): they are left out of the filter, so their
// calls get the bad-architecture action, as on a host without them.
var abis = []abi{
	{"SCMP_ARCH_X86_64", auditArchX86_64, sysX86_64, false},
	{"SCMP_ARCH_X86", auditArchI386, sysI386, true},
	{"SCMP_ARCH_X32", auditArchX86_64, sysX32, true},
	{"SCMP_ARCH_AARCH64", auditArchAarch64, sysAarch64, false},
	{"SCMP_ARCH_ARM", auditArchArm, sysArm, true},
}

// knownArches are the SCMP_ARCH_* names the OCI spec defines: valid in a
// profile even when skiff has no table for them.
var knownArches = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32, specs.ArchMIPSEL,
	specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC, specs.ArchPPC64,
	specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X, specs.ArchPARISC,
	specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64, specs.ArchM68K,
	specs.ArchSH, specs.ArchSHEB,
}

// abiByName is the ABI called name, or nil.
func abiByName(name string) *abi {
	for i := range abis {
		if abis[i].name == name {
			return &abis[i]
		}
	}
	return nil
}

// nativeABI is the ABI of the architecture skiff runs on: libseccomp
// always filters it, listed or not.
func nativeABI() *abi {
	return abiForGOARCH(runtime.GOARCH)
}

func abiForGOARCH(goarch string) *abi {
	switch goarch {
	case "amd64":
		return abiByName("SCMP_ARCH_X86_64")
	case "arm64":
		return abiByName("SCMP_ARCH_AARCH64")
	}
	return nil
}

// lookup is the number of syscall name on a, or false when a lacks it.
func (a *abi) lookup(name string) (uint32, bool) {
	i := sort.Search(len(a.table), func(i int) bool { return a.table[i].name >= name })
	if i < len(a.table) && a.table[i].name == name {
		return a.table[i].nr, true
	}
	return 0, false
}
