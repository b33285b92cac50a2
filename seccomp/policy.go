package seccomp

import (
	"fmt"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The SECCOMP_RET_* actions a filter returns (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retKillThread  = 0x00000000
	retTrap        = 0x00030000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retLog         = 0x7ffc0000
	retAllow       = 0x7fff0000
)

const (
	errnoEPERM  = 1
	errnoENOSYS = 38
	// maxArgs is the number of syscall arguments seccomp_data carries.
	maxArgs = 6
)

// retBadArch is what a call from an architecture the filter does not
// cover gets: libseccomp's default bad-arch action, SCMP_ACT_KILL (the
// thread), which runc leaves unchanged.
const retBadArch = retKillThread

// filterFlags are the LinuxSeccomp.Flags names and their
// SECCOMP_FILTER_FLAG_* bits (the ones runc accepts).
var filterFlags = []struct {
	name specs.LinuxSeccompFlag
	bit  uint
}{
	{"SECCOMP_FILTER_FLAG_TSYNC", 1},
	{specs.LinuxSeccompFlagLog, 2},
	{specs.LinuxSeccompFlagSpecAllow, 4},
	{specs.LinuxSeccompFlagWaitKillableRecv, 32},
}

// cond is one argument comparison.
type cond struct {
	arg   uint
	op    specs.LinuxSeccompOperator
	value uint64 // the operand; MASKED_EQ's mask
	two   uint64 // MASKED_EQ's expected value
}

// rule is a set of comparisons that must all hold for action to apply.
type rule struct {
	action uint32
	conds  []cond
}

// call is what a filter does for one syscall number of one ABI: the first
// rule whose conditions all hold, else action (the default action, or
// the syscall's unconditional rule, which then stands alone).
type call struct {
	rules  []rule
	action uint32
	whole  bool // an unconditional rule decided action
	is32   bool // the ABI compares low words only
}

// abiPolicy is the resolved profile for one ABI.
type abiPolicy struct {
	abi   *abi
	calls map[uint32]*call
	max   uint32 // the highest syscall number the profile names here
}

// policy is a profile resolved per ABI, what the code generator needs.
type policy struct {
	defaultAction uint32
	stub          bool // answer ENOSYS above each ABI's highest named syscall
	abis          []*abiPolicy
	flags         uint
}

// resolve applies runc's reading of s for the ABI native and those s
// lists:
//   - a rule whose action is the default action is dropped;
//   - a name is looked up on each ABI and skipped where the ABI lacks it
//     (libseccomp); a name no table knows is skipped everywhere (runc
//     ignores syscalls libseccomp cannot resolve: resolved on the native
//     arch, a name of another arch's becomes a pseudo-number, so socketcall
//     still reaches i386);
//   - conditions of one rule are ANDed, unless two test the same argument:
//     then each becomes a rule of its own (ORed), as runc does;
//   - the first unconditional rule of a syscall decides it alone and
//     replaces its conditional rules (libseccomp's database does so);
//     conditional rules are tried in profile order;
//   - the ENOSYS stub (runc's patchbpf) applies unless the default action
//     allows, logs, traces or already answers ENOSYS.
func resolve(s *specs.LinuxSeccomp, native *abi) (*policy, error) {
	def, err := actionOf(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	p := &policy{defaultAction: def}
	p.stub = def != retAllow && def != retLog && def&0xffff0000 != retTrace && def != retErrno|errnoENOSYS
	if p.flags, err = flagBits(s.Flags); err != nil {
		return nil, err
	}
	if p.abis, err = selectABIs(s.Architectures, native); err != nil {
		return nil, err
	}
	for i := range s.Syscalls {
		if err := p.add(&s.Syscalls[i]); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func selectABIs(names []specs.Arch, native *abi) ([]*abiPolicy, error) {
	chosen := []*abi{native}
	for _, n := range names {
		if !slices.Contains(knownArches, n) {
			return nil, fmt.Errorf("architectures: unknown architecture %q", n)
		}
		if a := abiByName(string(n)); a != nil && !slices.Contains(chosen, a) {
			chosen = append(chosen, a)
		}
	}
	out := make([]*abiPolicy, len(chosen))
	for i, a := range chosen {
		out[i] = &abiPolicy{abi: a, calls: map[uint32]*call{}}
	}
	return out, nil
}

func flagBits(flags []specs.LinuxSeccompFlag) (uint, error) {
	var bits uint
next:
	for _, f := range flags {
		for _, k := range filterFlags {
			if k.name == f {
				bits |= k.bit
				continue next
			}
		}
		return 0, fmt.Errorf("flags: unknown seccomp flag %q", f)
	}
	return bits, nil
}

// add resolves one LinuxSyscall entry into the ABIs' calls.
func (p *policy) add(sc *specs.LinuxSyscall) error {
	act, err := actionOf(sc.Action, sc.ErrnoRet)
	if err != nil {
		return fmt.Errorf("%s: %w", entryName(sc), err)
	}
	rules, err := rulesOf(act, sc.Args)
	if err != nil {
		return fmt.Errorf("%s: %w", entryName(sc), err)
	}
	for _, name := range sc.Names {
		if name == "" {
			return fmt.Errorf("%s: empty syscall name", entryName(sc))
		}
		for _, ap := range p.abis {
			nr, ok := ap.abi.lookup(name)
			if !ok {
				continue
			}
			// The stub counts every name, a rule with the default
			// action included (runc's findLastSyscalls).
			ap.max = max(ap.max, nr)
			if act == p.defaultAction {
				continue
			}
			c := ap.calls[nr]
			if c == nil {
				c = &call{action: p.defaultAction, is32: ap.abi.is32}
				ap.calls[nr] = c
			}
			if err := c.add(rules); err != nil {
				return fmt.Errorf("syscall %q: %w", name, err)
			}
		}
	}
	return nil
}

// entryName names a LinuxSyscall entry in an error: by its first name.
func entryName(sc *specs.LinuxSyscall) string {
	if len(sc.Names) == 0 {
		return "syscalls []"
	}
	return fmt.Sprintf("syscall %q", sc.Names[0])
}

// rulesOf splits a LinuxSyscall's arguments into rules as runc does.
func rulesOf(act uint32, args []specs.LinuxSeccompArg) ([]rule, error) {
	var conds []cond
	var seen [maxArgs]int
	shared := false
	for _, a := range args {
		if a.Index >= maxArgs {
			return nil, fmt.Errorf("argument index %d out of range (0-%d)", a.Index, maxArgs-1)
		}
		switch a.Op {
		case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
			specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual:
		default:
			return nil, fmt.Errorf("argument %d: unknown operator %q", a.Index, a.Op)
		}
		seen[a.Index]++
		shared = shared || seen[a.Index] > 1
		conds = append(conds, cond{arg: a.Index, op: a.Op, value: a.Value, two: a.ValueTwo})
	}
	if !shared {
		return []rule{{action: act, conds: conds}}, nil
	}
	rules := make([]rule, len(conds))
	for i, c := range conds {
		rules[i] = rule{action: act, conds: []cond{c}}
	}
	return rules, nil
}

// add merges rules into c with libseccomp's precedence.
func (c *call) add(rules []rule) error {
	for _, r := range rules {
		switch {
		case c.whole:
			// An unconditional rule already decides the syscall.
		case len(r.conds) == 0:
			c.rules, c.action, c.whole = nil, r.action, true
		default:
			for _, old := range c.rules {
				if slices.Equal(old.conds, r.conds) && old.action != r.action {
					return fmt.Errorf("two rules with the same arguments and different actions")
				}
			}
			c.rules = append(c.rules, r)
		}
	}
	return nil
}

// actionOf is the SECCOMP_RET_* value of an OCI action; errnoRet is the
// errno of ERRNO (EPERM without it) and the data of TRACE (EPERM, as runc).
func actionOf(a specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(errnoEPERM)
	if errnoRet != nil {
		if *errnoRet > 0xffff {
			return 0, fmt.Errorf("errnoRet %d out of range (0-65535)", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		return retErrno | data, nil
	case specs.ActKill, specs.ActKillThread:
		return retKillThread, nil
	case specs.ActKillProcess:
		return retKillProcess, nil
	case specs.ActTrap:
		return retTrap, nil
	case specs.ActTrace:
		return retTrace | data, nil
	case specs.ActLog:
		return retLog, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("action %s is not supported", a)
	}
	return 0, fmt.Errorf("unknown action %q", a)
}
