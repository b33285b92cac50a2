package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
)

// maxInsns is BPF_MAXINSNS: the kernel refuses longer filters.
const maxInsns = 4096

// label names a position in the program; jumps target labels and the
// assembler turns them into offsets.
type label int

// insn is one instruction before layout: a plain instruction, a
// conditional jump to two labels, an unconditional jump or a label.
type insn struct {
	kind   insnKind
	plain  bpf.Instruction
	test   bpf.JumpTest
	val    uint32
	jt, jf label
	target label // insnJA's target, insnLabel's name
}

type insnKind int

const (
	insnPlain insnKind = iota
	insnJump
	insnJA
	insnLabel
)

// asm collects a program with symbolic forward jumps. Conditional jumps
// reach at most 255 instructions: assemble routes a longer one through a
// JA trampoline placed right after it.
type asm struct {
	code   []insn
	labels int
}

func (a *asm) newLabel() label {
	a.labels++
	return label(a.labels)
}

func (a *asm) mark(l label)           { a.code = append(a.code, insn{kind: insnLabel, target: l}) }
func (a *asm) emit(i bpf.Instruction) { a.code = append(a.code, insn{kind: insnPlain, plain: i}) }
func (a *asm) ret(action uint32)      { a.emit(bpf.RetConstant{Val: action}) }
func (a *asm) loadWord(off uint32)    { a.emit(bpf.LoadAbsolute{Off: off, Size: 4}) }
func (a *asm) and(mask uint32)        { a.emit(bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: mask}) }
func (a *asm) jumpTo(l label)         { a.code = append(a.code, insn{kind: insnJA, target: l}) }
func (a *asm) jump(test bpf.JumpTest, val uint32, jt, jf label) {
	a.code = append(a.code, insn{kind: insnJump, test: test, val: val, jt: jt, jf: jf})
}

// assemble lays the program out and encodes it as the kernel's struct
// sock_filter array (native byte order); n is its instruction count.
func (a *asm) assemble() (raw []byte, n int, err error) {
	code := a.code
	for {
		at, labelAt, n := a.layout(code)
		far := func(i int, l label) bool { return labelAt[l]-(at[i]+1) > 255 }
		var grown []insn
		for i, in := range code {
			if in.kind != insnJump || !far(i, in.jt) && !far(i, in.jf) {
				if grown != nil {
					grown = append(grown, in)
				}
				continue
			}
			if grown == nil { // the first far jump: copy what precedes it
				grown = append(make([]insn, 0, len(code)+len(code)/4), code[:i]...)
			}
			// A far side jumps to a JA placed right after the test.
			var tramp []insn
			for _, side := range []*label{&in.jt, &in.jf} {
				if far(i, *side) {
					t := a.newLabel()
					tramp = append(tramp, insn{kind: insnLabel, target: t}, insn{kind: insnJA, target: *side})
					*side = t
				}
			}
			grown = append(append(grown, in), tramp...)
		}
		if grown != nil {
			code = grown // positions moved: lay out again
			continue
		}
		if n > maxInsns {
			return nil, n, fmt.Errorf("the filter needs %d instructions, more than the kernel's limit of %d", n, maxInsns)
		}
		raw, err := encode(code, at, labelAt)
		return raw, n, err
	}
}

// layout is the position of every instruction (by index in code) and of
// every label (the position of what follows it), and the program length.
func (a *asm) layout(code []insn) (at, labelAt []int, n int) {
	at = make([]int, len(code))
	labelAt = make([]int, a.labels+1)
	for i, in := range code {
		at[i] = n
		if in.kind == insnLabel {
			labelAt[in.target] = n
			continue
		}
		n++
	}
	return at, labelAt, n
}

// encode turns the laid-out code into raw sock_filter records.
func encode(code []insn, at, labelAt []int) ([]byte, error) {
	var raw []byte
	for i, in := range code {
		var ins bpf.Instruction
		next := at[i] + 1
		switch in.kind {
		case insnLabel:
			continue
		case insnPlain:
			ins = in.plain
		case insnJA:
			ins = bpf.Jump{Skip: uint32(labelAt[in.target] - next)}
		case insnJump:
			jt, jf := labelAt[in.jt]-next, labelAt[in.jf]-next
			if jt < 0 || jf < 0 || jt > 255 || jf > 255 {
				return nil, fmt.Errorf("internal error: jump at %d out of range (%d, %d)", at[i], jt, jf)
			}
			ins = bpf.JumpIf{Cond: in.test, Val: in.val, SkipTrue: uint8(jt), SkipFalse: uint8(jf)}
		}
		r, err := ins.Assemble()
		if err != nil {
			return nil, fmt.Errorf("internal error: assembling %v: %w", ins, err)
		}
		raw = binary.NativeEndian.AppendUint16(raw, r.Op)
		raw = append(raw, r.Jt, r.Jf)
		raw = binary.NativeEndian.AppendUint32(raw, r.K)
	}
	return raw, nil
}
