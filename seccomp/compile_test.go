package seccomp

import (
	"fmt"
	"strings"
	"testing"

	profiles "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// dockerCaps is docker's default capability set.
var dockerCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// dockerProfile is docker's default profile resolved for caps.
func dockerProfile(t testing.TB, caps ...string) *specs.LinuxSeccomp {
	t.Helper()
	s, err := profiles.GetDefaultProfile(&specs.Spec{Process: &specs.Process{
		Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// argCases are argument vectors that the profile's conditional rules
// tell apart: clone flags with and without namespace bits, personality
// values, socket families (AF_VSOCK 40 among them), high words set.
var argCases = func() [][6]uint64 {
	cases := [][6]uint64{{}}
	for _, v := range []uint64{
		0, 1, 2, 3, 7, 8, 10, 16, 17, 38, 40, 41, 45, 46, 0x20000, 0x20008, 0xffffffff, 0x1_0000_0000,
		0x1_0000_0008, 0xffffffff_ffffffff, 0x11200000 /* CLONE_THREAD|... */, unix.CLONE_NEWUSER,
		unix.CLONE_NEWNS, unix.CLONE_NEWNET | 17, unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD,
		unix.CLONE_NEWUSER | 0x1_0000_0000, 0x1_7e02_0000,
	} {
		cases = append(cases, [6]uint64{v}, [6]uint64{0, v}, [6]uint64{v, v, v, v, v, v})
	}
	return cases
}()

// abiCase is an ABI whose numbers a test sweeps: from base to its
// highest number + 50.
type abiCase struct {
	abi   string
	audit uint32
	base  uint32
}

var (
	// amd64Sweep is docker's ABIs on amd64, and aarch64, which the
	// profile does not list.
	amd64Sweep = []abiCase{
		{"SCMP_ARCH_X86_64", auditArchX86_64, 0},
		{"SCMP_ARCH_X86", auditArchI386, 0},
		{"SCMP_ARCH_X32", auditArchX86_64, x32Bit},
		{"SCMP_ARCH_AARCH64", auditArchAarch64, 0},
	}
	// arm64Sweep is docker's ABIs on arm64, and x86_64.
	arm64Sweep = []abiCase{
		{"SCMP_ARCH_AARCH64", auditArchAarch64, 0},
		{"SCMP_ARCH_ARM", auditArchArm, 0},
		{"SCMP_ARCH_X86_64", auditArchX86_64, 0},
	}
)

// edgeNumbers are numbers at the ends of the ranges, for every arch.
var edgeNumbers = []uint32{x32Bit - 1, x32Bit, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}

// compareAll runs p for every syscall number 0..max+50 of each ABI of
// sweep, and the edge numbers, with every argument case and compares with
// the reference.
func compareAll(t *testing.T, s *specs.LinuxSeccomp, native *abi, p *Program, sweep []abiCase) {
	t.Helper()
	v := vm(t, p)
	named := map[uint32]bool{} // numbers a rule names, on any ABI
	for _, sc := range s.Syscalls {
		for _, n := range sc.Names {
			for i := range abis {
				if nr, ok := abis[i].lookup(n); ok {
					named[nr] = true
				}
			}
		}
	}
	// Arguments cannot matter for a number no rule names: two vectors
	// there, all the cases where rules are.
	few := [][6]uint64{{}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}}
	for _, ac := range sweep {
		a := abiByName(ac.abi)
		var highest uint32
		for _, row := range a.table {
			highest = max(highest, row.nr)
		}
		var nrs []uint32
		for nr := ac.base; nr <= highest+50; nr++ {
			nrs = append(nrs, nr)
		}
		bad := 0
		for _, nr := range append(nrs, edgeNumbers...) {
			cases := few
			if named[nr] {
				cases = argCases
			}
			for _, args := range cases {
				d := seccompData{nr: nr, arch: ac.audit, args: args}
				got, want := run(t, v, d), reference(t, s, native, d)
				if got != want {
					if bad++; bad < 10 {
						t.Errorf("%s nr %#x args %#x: filter returns %#x, the profile says %#x", ac.abi, nr, args, got, want)
					}
				}
			}
		}
	}
}

func TestDockerProfileMatchesReference(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	for _, tc := range []struct {
		name string
		caps []string
	}{
		{"default caps", dockerCaps},
		{"with admin caps", append([]string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME", "CAP_SYS_MODULE", "CAP_BPF", "CAP_PERFMON", "CAP_SYS_NICE", "CAP_SYSLOG", "CAP_DAC_READ_SEARCH"}, dockerCaps...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := dockerProfile(t, tc.caps...)
			p, err := compileFor(s, native)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d instructions", p.Len())
			compareAll(t, s, native, p, amd64Sweep)
		})
	}
}

// TestDockerProfileFacts checks what docker's profile must do, in numbers
// rather than through the reference.
func TestDockerProfileFacts(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	p, err := compileFor(dockerProfile(t, dockerCaps...), native)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := compileFor(dockerProfile(t, append([]string{"CAP_SYS_ADMIN"}, dockerCaps...)...), native)
	if err != nil {
		t.Fatal(err)
	}
	v, va := vm(t, p), vm(t, admin)
	const eperm, enosys = retErrno | 1, retErrno | 38
	x64 := func(name string, args ...uint64) seccompData {
		nr, ok := native.lookup(name)
		if !ok {
			t.Fatalf("no %s on x86_64", name)
		}
		d := seccompData{nr: nr, arch: auditArchX86_64}
		copy(d.args[:], args)
		return d
	}
	for _, tc := range []struct {
		name       string
		d          seccompData
		want, with uint32 // without and with CAP_SYS_ADMIN
	}{
		{"getpid", x64("getpid"), retAllow, retAllow},
		{"keyctl", x64("keyctl"), eperm, eperm},
		{"clone3", x64("clone3"), enosys, retAllow},
		{"clone thread", x64("clone", unix.CLONE_VM|unix.CLONE_THREAD|unix.CLONE_SIGHAND), retAllow, retAllow},
		{"clone newuser", x64("clone", unix.CLONE_NEWUSER), eperm, retAllow},
		{"unshare", x64("unshare", unix.CLONE_NEWUSER), eperm, retAllow},
		{"socket inet", x64("socket", unix.AF_INET), retAllow, retAllow},
		{"socket vsock", x64("socket", unix.AF_VSOCK), eperm, eperm},
		{"socket vsock high word", x64("socket", 1<<32|unix.AF_INET), eperm, eperm},
		{"personality linux", x64("personality", 0), retAllow, retAllow},
		{"personality query", x64("personality", 0xffffffff), retAllow, retAllow},
		{"personality other", x64("personality", 0x0400000), eperm, eperm},
		{"above the highest", seccompData{nr: 1000, arch: auditArchX86_64}, enosys, enosys},
		{"x32 read", seccompData{nr: x32Bit, arch: auditArchX86_64}, retAllow, retAllow},
		{"x32 above", seccompData{nr: x32Bit + 1000, arch: auditArchX86_64}, enosys, enosys},
		{"i386 getpid", seccompData{nr: 20, arch: auditArchI386}, retAllow, retAllow},
		{"i386 keyctl", seccompData{nr: 288, arch: auditArchI386}, eperm, eperm},
		{"i386 socketcall", seccompData{nr: 102, arch: auditArchI386}, retAllow, retAllow},
		{"x32 arch_prctl", seccompData{nr: x32Bit + 158, arch: auditArchX86_64}, retAllow, retAllow},
		{"aarch64 not in profile", seccompData{nr: 172, arch: auditArchAarch64}, retKillThread, retKillThread},
	} {
		if got := run(t, v, tc.d); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.name, got, tc.want)
		}
		if got := run(t, va, tc.d); got != tc.with {
			t.Errorf("%s with CAP_SYS_ADMIN: got %#x, want %#x", tc.name, got, tc.with)
		}
	}
}

// small is a profile with one rule on getpid (39 on x86_64).
func small(def specs.LinuxSeccompAction, rules ...specs.LinuxSyscall) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: def,
		Architectures: []specs.Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Syscalls:      rules,
	}
}

func uintp(v uint) *uint { return &v }

// TestSmallProfiles covers each operator and action, alone and mixed,
// against the reference over all numbers and argument cases.
func TestSmallProfiles(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	arg := func(i uint, op specs.LinuxSeccompOperator, v, two uint64) specs.LinuxSeccompArg {
		return specs.LinuxSeccompArg{Index: i, Op: op, Value: v, ValueTwo: two}
	}
	var cases = map[string]*specs.LinuxSeccomp{}
	for _, op := range []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual} {
		for _, v := range []uint64{0, 8, 40, 0xffffffff, 0x1_0000_0000, 0x1_0000_0008} {
			cases[fmt.Sprintf("%s %#x", op, v)] = small(specs.ActErrno, specs.LinuxSyscall{
				Names: []string{"getpid", "personality", "socket"}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{arg(0, op, v, v&0xff)},
			})
		}
	}
	for _, act := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess, specs.ActTrap, specs.ActTrace, specs.ActLog, specs.ActErrno, specs.ActAllow} {
		cases["action "+string(act)] = small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"getpid", "clone3"}, Action: act, ErrnoRet: uintp(22)})
		cases["default "+string(act)] = small(act, specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActErrno})
	}
	cases["and of two args"] = small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 2, 0), arg(1, specs.OpLessThan, 8, 0)}})
	cases["same arg twice is an or"] = small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 2, 0), arg(0, specs.OpEqualTo, 10, 0)}})
	cases["unconditional wins"] = small(specs.ActErrno,
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(13), Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 40, 0)}},
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow},
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActKillProcess})
	cases["first conditional wins"] = small(specs.ActErrno,
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: uintp(13), Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 40, 0)}},
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{arg(0, specs.OpLessThan, 100, 0)}})
	cases["rule with default action dropped"] = small(specs.ActErrno,
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg(0, specs.OpEqualTo, 40, 0)}},
		specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow})
	cases["unknown names skipped"] = small(specs.ActErrno,
		specs.LinuxSyscall{Names: []string{"no_such_call", "arch_prctl", "socketcall", "getpid"}, Action: specs.ActAllow})
	cases["x86_64 only"] = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid", "read"}, Action: specs.ActAllow}}}
	cases["x86_64 only, allow default"] = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"keyctl"}, Action: specs.ActErrno}}}
	cases["x86_64 and i386, no x32"] = &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86},
		Syscalls: []specs.LinuxSyscall{{Names: []string{"getpid", "socketcall"}, Action: specs.ActAllow}}}
	cases["enosys default has no stub"] = small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"getpid"}, Action: specs.ActAllow})
	cases["enosys default has no stub"].DefaultErrnoRet = uintp(38)
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			p, err := compileFor(s, native)
			if err != nil {
				t.Fatal(err)
			}
			compareAll(t, s, native, p, amd64Sweep)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	for _, tc := range []struct {
		s    *specs.LinuxSeccomp
		want string
	}{
		{small(specs.ActNotify), "defaultAction: action SCMP_ACT_NOTIFY is not supported"},
		{small("SCMP_ACT_NOPE"), `defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActNotify}), `syscall "read": action SCMP_ACT_NOTIFY is not supported`},
		{small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}), `syscall "read": argument index 6 out of range (0-5)`},
		{small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 1, Op: "SCMP_CMP_XOR"}}}), `syscall "read": argument 1: unknown operator "SCMP_CMP_XOR"`},
		{small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActErrno, ErrnoRet: uintp(70000)}), `syscall "read": errnoRet 70000 out of range (0-65535)`},
		{small(specs.ActErrno, specs.LinuxSyscall{Names: []string{""}, Action: specs.ActAllow}), `empty syscall name`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `architectures: unknown architecture "SCMP_ARCH_Z80"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, `flags: unknown seccomp flag "SECCOMP_FILTER_FLAG_NOPE"`},
		{small(specs.ActErrno,
			specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 1}}},
			specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 1}}}),
			`syscall "read": two rules with the same arguments and different actions`},
	} {
		_, err := compileFor(tc.s, native)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got error %v, want one line with %q", err, tc.want)
		}
	}
}

func TestCompileFlagsAndNil(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	if p, err := compileFor(nil, native); p != nil || err != nil {
		t.Errorf("nil profile: %v, %v", p, err)
	}
	if p, err := compileFor(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, native); p != nil || err != nil {
		t.Errorf("allow-all profile: %v, %v", p, err)
	}
	s := small(specs.ActErrno, specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow})
	s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow}
	p, err := compileFor(s, native)
	if err != nil || p.Flags != unix.SECCOMP_FILTER_FLAG_LOG|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW {
		t.Errorf("flags: %v, %v", p, err)
	}
}

// TestLongJumps compiles a profile whose argument rules push the binary
// search's jumps beyond 255 instructions, so the trampolines are needed.
func TestLongJumps(t *testing.T) {
	native := abiByName("SCMP_ARCH_X86_64")
	var rules []specs.LinuxSyscall
	for i, row := range native.table {
		if i%5 == 0 {
			rules = append(rules, specs.LinuxSyscall{Names: []string{row.name}, Action: specs.ActAllow,
				Args: []specs.LinuxSeccompArg{{Index: uint(i % 6), Op: specs.OpMaskedEqual, Value: 0xff00ff00ff, ValueTwo: uint64(i)}}})
		}
	}
	s := small(specs.ActErrno, rules...)
	p, err := compileFor(s, native)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions", p.Len())
	compareAll(t, s, native, p, amd64Sweep)
}

// TestArm64Tables compiles docker's rules for aarch64 with arm, as skiff
// built for arm64 does, and checks them against the reference.
func TestArm64Tables(t *testing.T) {
	native := abiForGOARCH("arm64")
	s := dockerProfile(t, dockerCaps...)
	s.Architectures = []specs.Arch{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	p, err := compileFor(s, native)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions", p.Len())
	compareAll(t, s, native, p, arm64Sweep)
	v := vm(t, p)
	for _, tc := range []struct {
		d    seccompData
		want uint32
	}{
		{seccompData{nr: 172, arch: auditArchAarch64}, retAllow},      // getpid
		{seccompData{nr: 219, arch: auditArchAarch64}, retErrno | 1},  // keyctl
		{seccompData{nr: 435, arch: auditArchAarch64}, retErrno | 38}, // clone3
		{seccompData{nr: 20, arch: auditArchArm}, retAllow},           // getpid
		{seccompData{nr: 39, arch: auditArchX86_64}, retBadArch},      // not in the filter
	} {
		if got := run(t, v, tc.d); got != tc.want {
			t.Errorf("%+v: got %#x, want %#x", tc.d, got, tc.want)
		}
	}
}
