package seccomp

import (
	"math"
	"slices"

	"golang.org/x/net/bpf"
)

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// outcome is what the filter does for a syscall number: return action,
// or (call non-nil) test call's rules.
type outcome struct {
	action uint32
	call   *call
}

// segment is a range of syscall numbers with one outcome.
type segment struct {
	lo, hi uint32
	out    outcome
}

// group is the ABIs that share one AUDIT_ARCH value (x86_64 and x32).
type group struct {
	audit uint32
	abis  []*abiPolicy
}

// generate writes p as a program:
//
//	load arch; one compare per AUDIT_ARCH; else the bad-arch action
//	per arch: load nr; a binary search over sorted ranges of numbers that
//	share an outcome (the ENOSYS stub and x32's bit are ranges too);
//	a leaf returns its action, or tests its syscall's argument rules.
func generate(p *policy) *asm {
	a := &asm{}
	groups := groupsOf(p.abis)
	a.loadWord(offArch)
	starts := make([]label, len(groups))
	for i, g := range groups {
		starts[i] = a.newLabel()
		next := a.newLabel()
		a.jump(bpf.JumpEqual, g.audit, starts[i], next)
		a.mark(next)
	}
	a.ret(retBadArch)
	for i, g := range groups {
		a.mark(starts[i])
		a.loadWord(offNr)
		a.search(p.segments(g))
	}
	return a
}

func groupsOf(abis []*abiPolicy) []*group {
	var groups []*group
	for _, ap := range abis {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.audit == ap.abi.audit })
		if i < 0 {
			groups = append(groups, &group{audit: ap.abi.audit})
			i = len(groups) - 1
		}
		groups[i].abis = append(groups[i].abis, ap)
	}
	return groups
}

// search emits a binary search over segs (sorted, covering every number)
// with the syscall number in A.
func (a *asm) search(segs []segment) {
	if len(segs) == 1 {
		a.leaf(segs[0].out)
		return
	}
	mid := len(segs) / 2
	left, right := a.newLabel(), a.newLabel()
	a.jump(bpf.JumpGreaterOrEqual, segs[mid].lo, right, left)
	a.mark(left)
	a.search(segs[:mid])
	a.mark(right)
	a.search(segs[mid:])
}

// leaf returns o's action, testing its rules first.
func (a *asm) leaf(o outcome) {
	if o.call == nil {
		a.ret(o.action)
		return
	}
	for _, r := range o.call.rules {
		next := a.newLabel()
		for _, c := range r.conds {
			a.compare(c, o.call.is32, next)
		}
		a.ret(r.action)
		a.mark(next)
	}
	a.ret(o.call.action)
}

// compare falls through when c holds and jumps to fail when it does not.
// A 64-bit ABI compares the high words first and the low words when the
// high words are equal; a 32-bit ABI compares the low words only.
func (a *asm) compare(c cond, is32 bool, fail label) {
	pass := a.newLabel()
	if !is32 {
		a.compareHigh(c, pass, fail)
	}
	lo, two := uint32(c.value), uint32(c.two)
	a.loadWord(offArgs + 8*uint32(c.arg))
	switch c.op {
	case "SCMP_CMP_EQ":
		a.jump(bpf.JumpEqual, lo, pass, fail)
	case "SCMP_CMP_NE":
		a.jump(bpf.JumpEqual, lo, fail, pass)
	case "SCMP_CMP_GT":
		a.jump(bpf.JumpGreaterThan, lo, pass, fail)
	case "SCMP_CMP_GE":
		a.jump(bpf.JumpGreaterOrEqual, lo, pass, fail)
	case "SCMP_CMP_LT":
		a.jump(bpf.JumpGreaterOrEqual, lo, fail, pass)
	case "SCMP_CMP_LE":
		a.jump(bpf.JumpGreaterThan, lo, fail, pass)
	case "SCMP_CMP_MASKED_EQ":
		a.and(lo)
		a.jump(bpf.JumpEqual, two, pass, fail)
	}
	a.mark(pass)
}

// compareHigh decides c on the high words (little-endian: at +4) and
// falls through to the low words when they do not decide it.
func (a *asm) compareHigh(c cond, pass, fail label) {
	hi, two := uint32(c.value>>32), uint32(c.two>>32)
	low, below := a.newLabel(), a.newLabel()
	a.loadWord(offArgs + 8*uint32(c.arg) + 4)
	switch c.op {
	case "SCMP_CMP_EQ":
		a.jump(bpf.JumpEqual, hi, low, fail)
	case "SCMP_CMP_NE":
		a.jump(bpf.JumpEqual, hi, low, pass)
	case "SCMP_CMP_GT", "SCMP_CMP_GE":
		a.jump(bpf.JumpGreaterThan, hi, pass, below)
		a.mark(below)
		a.jump(bpf.JumpEqual, hi, low, fail)
	case "SCMP_CMP_LT", "SCMP_CMP_LE":
		a.jump(bpf.JumpGreaterThan, hi, fail, below)
		a.mark(below)
		a.jump(bpf.JumpEqual, hi, low, pass)
	case "SCMP_CMP_MASKED_EQ":
		a.and(hi)
		a.jump(bpf.JumpEqual, two, low, fail)
	}
	a.mark(low)
}

// segments is the outcome of every syscall number of g, as sorted ranges.
func (p *policy) segments(g *group) []segment {
	if g.audit == auditArchX86_64 {
		return overlay(p.x86Background(g.find("SCMP_ARCH_X86_64"), g.find("SCMP_ARCH_X32")), g.points())
	}
	return overlay(p.background(g.abis[0], 0, math.MaxUint32), g.points())
}

// x86Quarters are the ranges bits 30 (x32's) and 31 cut numbers into.
var x86Quarters = [...]struct {
	lo, hi uint32
	x32    bool // x32's bit is set
}{{0, x32Bit - 1, false}, {x32Bit, 0x7fffffff, true}, {0x80000000, 0xbfffffff, false}, {0xc0000000, math.MaxUint32, true}}

// x86Background is background for AUDIT_ARCH_X86_64, which x86_64 and x32
// share. The ENOSYS stub (runc's) tells them apart by x32's bit; the
// filter (libseccomp's) sends numbers from the bit up to the bad-arch
// action when x32 is not listed (but -1, which a tracer uses to skip a
// syscall), and numbers below it when only x32 is.
func (p *policy) x86Background(x64, x32 *abiPolicy) []segment {
	def, bad := outcome{action: p.defaultAction}, outcome{action: retBadArch}
	var bg []segment
	for _, q := range x86Quarters {
		switch {
		case q.x32 && x32 != nil:
			bg = append(bg, p.background(x32, q.lo, q.hi)...)
		case q.x32 && q.hi == math.MaxUint32:
			bg = append(bg, segment{q.lo, q.hi - 1, bad}, segment{q.hi, q.hi, def})
		case q.x32:
			bg = append(bg, segment{q.lo, q.hi, bad})
		case x64 == nil && q.lo == 0:
			bg = append(bg, segment{q.lo, q.hi, bad})
		case x64 == nil:
			bg = append(bg, segment{q.lo, q.hi, def})
		default:
			for _, s := range p.background(x64, q.lo, q.hi) {
				if s.lo >= x32Bit && s.out == def && x32 == nil {
					s.out = bad // past the stub, libseccomp's x86_64-only check
				}
				bg = append(bg, s)
			}
		}
	}
	return bg
}

func (g *group) find(name string) *abiPolicy {
	for _, ap := range g.abis {
		if ap.abi.name == name {
			return ap
		}
	}
	return nil
}

// background is the outcome of numbers in [lo, hi] the profile does not
// name: the default action, and ENOSYS above the highest named one when
// the stub applies.
func (p *policy) background(ap *abiPolicy, lo, hi uint32) []segment {
	def := outcome{action: p.defaultAction}
	enosys := outcome{action: retErrno | errnoENOSYS}
	switch {
	case !p.stub || ap.max == 0 || ap.max >= hi:
		return []segment{{lo, hi, def}}
	case ap.max < lo:
		return []segment{{lo, hi, enosys}}
	}
	return []segment{{lo, ap.max, def}, {ap.max + 1, hi, enosys}}
}

// point is a named syscall's outcome.
type point struct {
	nr  uint32
	out outcome
}

func (g *group) points() []point {
	var pts []point
	for _, ap := range g.abis {
		for nr, c := range ap.calls {
			o := outcome{action: c.action}
			if len(c.rules) > 0 {
				o.call = c
			}
			pts = append(pts, point{nr, o})
		}
	}
	slices.SortFunc(pts, func(x, y point) int { return int(int64(x.nr) - int64(y.nr)) })
	return pts
}

// overlay splits the background ranges at the named syscalls and merges
// neighbours with the same plain action.
func overlay(bg []segment, pts []point) []segment {
	var out []segment
	add := func(lo, hi uint32, o outcome) {
		if n := len(out); n > 0 && out[n-1].hi+1 == lo && o.call == nil && out[n-1].out == o {
			out[n-1].hi = hi
			return
		}
		out = append(out, segment{lo, hi, o})
	}
	i := 0
	for _, b := range bg {
		cur, done := b.lo, false
		for ; i < len(pts) && pts[i].nr <= b.hi; i++ {
			if pts[i].nr > cur {
				add(cur, pts[i].nr-1, b.out)
			}
			add(pts[i].nr, pts[i].nr, pts[i].out)
			if pts[i].nr == math.MaxUint32 {
				done = true
			}
			cur = pts[i].nr + 1
		}
		if !done && cur <= b.hi {
			add(cur, b.hi, b.out)
		}
	}
	return out
}
