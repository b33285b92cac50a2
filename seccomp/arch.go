package seccomp

import (
	"runtime"
	"sort"
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
	name   string // the SCMP_ARCH_* name
	audit  uint32 // seccomp_data.arch
	table  []sysnum
	is32   bool // 32-bit arguments: only the low word is compared, as libseccomp
	family string
}

// abis are the ABIs skiff has syscall tables for. A profile may name other
// architectures (mips, ppc…): they are left out of the filter, so their
// calls get the bad-architecture action, as on a host without them.
var abis = []abi{
	{"SCMP_ARCH_X86_64", auditArchX86_64, sysX86_64, false, "amd64"},
	{"SCMP_ARCH_X86", auditArchI386, sysI386, true, "amd64"},
	{"SCMP_ARCH_X32", auditArchX86_64, sysX32, true, "amd64"},
	{"SCMP_ARCH_AARCH64", auditArchAarch64, sysAarch64, false, "arm64"},
	{"SCMP_ARCH_ARM", auditArchArm, sysArm, true, "arm64"},
}

// knownArches are the SCMP_ARCH_* names the OCI spec allows: valid in a
// profile even when skiff has no table for them.
var knownArches = []string{
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_LOONGARCH64",
	"SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB",
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
