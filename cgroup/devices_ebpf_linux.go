package cgroup

// The device rules on cgroup2: a BPF_CGROUP_DEVICE program, which the
// kernel runs on every open and mknod of a device node by a process of the
// cgroup (and its descendants), attached to the container's cgroup2
// directory; on a hybrid host the kernel checks it and the v1 list both.
//
// One program per directory, ever: a new one (a restart of the container
// in a directory that survived, `start` again) is attached first, then
// every older one is detached, so the cgroup is never without a filter
// and programs never pile up until the kernel refuses (runc#2876: a
// plain BPF_F_ALLOW_MULTI attach at each start, which containerd/cgroups
// does, adds one more each time). Between the two steps both programs
// run, and the kernel grants only what every one allows: never looser.
//
// The program is generated here rather than by containerd/cgroups/v3's
// cgroup2.DeviceFilter, whose access test lets a rule granting any one of
// the requested accesses grant them all ("c 1:3 r" would allow a write;
// runc fixed its copy), and which dereferences a wildcard's nil major.

import (
	"errors"
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceProgram compiles rules into a BPF_CGROUP_DEVICE program: the last
// rule that matches a request decides it; no match denies. The context
// (struct bpf_cgroup_dev_ctx) is three u32: access_type (the access bits
// BPF_DEVCG_ACC_* in its upper half, the device type BPF_DEVCG_DEV_* in its
// lower), major, minor.
func deviceProgram(rules []specs.LinuxDeviceCgroup) (asm.Instructions, error) {
	insts := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // R2: type
		asm.And.Imm32(asm.R2, 0xffff),
		asm.LoadMem(asm.R3, asm.R1, 0, asm.Word), // R3: requested access
		asm.RSh.Imm32(asm.R3, 16),
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word), // R4: major
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word), // R5: minor
	}
	// The last rule first: the first block that matches returns.
	for i := len(rules) - 1; i >= 0; i-- {
		block, final, err := ruleBlock(rules[i], ruleLabel(i), ruleLabel(i-1))
		if err != nil {
			return nil, err
		}
		insts = append(insts, block...)
		if final { // matches everything: the rules before it never decide
			return insts, nil
		}
	}
	return append(insts,
		asm.Mov.Imm32(asm.R0, 0).WithSymbol(ruleLabel(-1)), // no rule matched: deny
		asm.Return(),
	), nil
}

// ruleLabel names rule i's block; -1 is the final deny.
func ruleLabel(i int) string { return fmt.Sprintf("rule%d", i) }

// ruleBlock is one rule's test, labelled label: on a mismatch it jumps to
// next (the block of the rule before it), on a match it returns the rule's
// verdict. final says it matches every request.
func ruleBlock(r specs.LinuxDeviceCgroup, label, next string) (block asm.Instructions, final bool, err error) {
	access, err := accessBits(r.Access)
	if err != nil {
		return nil, false, err
	}
	switch r.Type {
	case "a", "":
	case "c":
		block = append(block, asm.JNE.Imm32(asm.R2, unix.BPF_DEVCG_DEV_CHAR, next))
	case "b":
		block = append(block, asm.JNE.Imm32(asm.R2, unix.BPF_DEVCG_DEV_BLOCK, next))
	default:
		return nil, false, fmt.Errorf("device rule: invalid type %q", r.Type)
	}
	const all = unix.BPF_DEVCG_ACC_READ | unix.BPF_DEVCG_ACC_WRITE | unix.BPF_DEVCG_ACC_MKNOD
	if access != all {
		// Every requested access must be in the rule's: (R3 & access) == R3.
		block = append(block,
			asm.Mov.Reg32(asm.R1, asm.R3),
			asm.And.Imm32(asm.R1, access),
			asm.JNE.Reg32(asm.R1, asm.R3, next),
		)
	}
	for _, n := range []struct {
		reg asm.Register
		v   *int64
	}{{asm.R4, r.Major}, {asm.R5, r.Minor}} {
		if n.v != nil && *n.v >= 0 {
			// JMP32: a major or minor above 2^31 compares as the u32 it is.
			block = append(block, asm.JNE.Imm32(n.reg, int32(uint32(*n.v)), next))
		}
	}
	final = len(block) == 0
	verdict := int32(0)
	if r.Allow {
		verdict = 1
	}
	block = append(block, asm.Mov.Imm32(asm.R0, verdict), asm.Return())
	block[0] = block[0].WithSymbol(label)
	return block, final, nil
}

// accessBits are a rule's access letters (r, w, m) as BPF_DEVCG_ACC_* bits.
func accessBits(s string) (int32, error) {
	var bits int32
	for _, c := range s {
		switch c {
		case 'r':
			bits |= unix.BPF_DEVCG_ACC_READ
		case 'w':
			bits |= unix.BPF_DEVCG_ACC_WRITE
		case 'm':
			bits |= unix.BPF_DEVCG_ACC_MKNOD
		default:
			return 0, fmt.Errorf("device rule: invalid access %q", s)
		}
	}
	if bits == 0 {
		return 0, fmt.Errorf("device rule: no access given")
	}
	return bits, nil
}

// loadDeviceProgram loads rules' program into the kernel.
func loadDeviceProgram(rules []specs.LinuxDeviceCgroup) (*ebpf.Program, error) {
	insts, err := deviceProgram(rules)
	if err != nil {
		return nil, err
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name:         "skiff_devices",
		Type:         ebpf.CGroupDevice,
		Instructions: insts,
		License:      "Apache",
	})
	if err != nil {
		return nil, fmt.Errorf("load the device program: %w", err)
	}
	return prog, nil
}

// setDeviceProgram attaches rules' program to the cgroup2 directory dir
// and detaches every device program attached before it.
func setDeviceProgram(dir string, rules []specs.LinuxDeviceCgroup) error {
	prog, err := loadDeviceProgram(rules)
	if err != nil {
		return err
	}
	defer prog.Close() // attached, the kernel keeps it
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return os.NewSyscallError("open", err)
	}
	defer unix.Close(fd)
	old, err := attachedDevicePrograms(fd)
	if err != nil {
		return err
	}
	err = link.RawAttachProgram(link.RawAttachProgramOptions{
		Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI,
	})
	if err != nil {
		return fmt.Errorf("attach the device program: %w", err)
	}
	var errs []error
	for _, id := range old {
		errs = append(errs, detachDeviceProgram(fd, id))
	}
	return errors.Join(errs...)
}

// attachedDevicePrograms are the ids of the device programs attached to
// the cgroup2 directory fd itself (not those it inherits).
func attachedDevicePrograms(fd int) ([]ebpf.ProgramID, error) {
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, fmt.Errorf("list the device programs: %w", err)
	}
	ids := make([]ebpf.ProgramID, 0, len(res.Programs))
	for _, p := range res.Programs {
		ids = append(ids, p.ID)
	}
	return ids, nil
}

func detachDeviceProgram(fd int, id ebpf.ProgramID) error {
	prog, err := ebpf.NewProgramFromID(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil // detached meanwhile
	}
	if err != nil {
		return fmt.Errorf("detach device program %d: %w", id, err)
	}
	defer prog.Close()
	err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return fmt.Errorf("detach device program %d: %w", id, err)
	}
	return nil
}
