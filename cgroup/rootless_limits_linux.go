package cgroup

// The one warning a rootless container's limit flags get when its cgroup
// cannot hold them: podman's behaviour (the container runs, unlimited),
// with the flags named and why they are ignored.

import (
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// limitFlag is one limit asked for: the docker flag that sets it and the
// cgroup v2 controller that enforces it.
type limitFlag struct {
	flag, controller string
}

// IgnoredLimits is the one line (without docker's "WARNING: ") a rootless
// run prints when limits in r cannot hold under d, naming the flags ignored
// and why: a v1 or hybrid host, no delegated cgroup, or controllers not
// delegated. It is "" when r asks nothing or everything applies.
func IgnoredLimits(r *specs.LinuxResources, d Delegation) string {
	asked := requestedLimits(r)
	if len(asked) == 0 {
		return ""
	}
	if d.V1 {
		// podman's own sentence, so the warning is recognised.
		return "Resource limits are not supported and ignored on cgroups V1 rootless systems: " + flagList(asked)
	}
	if d.Subtree == "" {
		return fmt.Sprintf("Resource limits are not supported and ignored without a delegated cgroup (%s): %s", d.Reason, flagList(asked))
	}
	var ignored []limitFlag
	var missing []string
	for _, l := range asked {
		if slices.Contains(d.Enableable, l.controller) {
			continue
		}
		ignored = append(ignored, l)
		if !slices.Contains(missing, l.controller) {
			missing = append(missing, l.controller)
		}
	}
	if len(ignored) == 0 {
		return ""
	}
	return fmt.Sprintf("Resource limits are not supported and ignored for cgroup controllers not delegated to this user (%s): %s",
		strings.Join(missing, ", "), flagList(ignored))
}

// requestedLimits are the limits r asks for, each with its flag, in
// docker's help order. An unlimited value (--pids-limit -1, --memory-swap
// -1) or the kernel's default CFS period asks nothing, so ignoring it is
// not worth a warning.
func requestedLimits(r *specs.LinuxResources) []limitFlag {
	if r == nil {
		return nil
	}
	var out []limitFlag
	add := func(set bool, flag, controller string) {
		if set && !slices.Contains(out, limitFlag{flag, controller}) {
			out = append(out, limitFlag{flag, controller})
		}
	}
	if m := r.Memory; m != nil {
		add(m.Limit != nil, "--memory", "memory")
		// -m alone gets twice its value as memory+swap (moby's default):
		// that is -m's, not a --memory-swap the user typed.
		derived := m.Limit != nil && m.Swap != nil && *m.Swap == 2**m.Limit
		add(m.Swap != nil && *m.Swap != -1 && !derived, "--memory-swap", "memory")
		add(m.Reservation != nil, "--memory-reservation", "memory")
		add(m.Swappiness != nil, "--memory-swappiness", "memory")
		add(m.DisableOOMKiller != nil && *m.DisableOOMKiller, "--oom-kill-disable", "memory")
	}
	if c := r.CPU; c != nil {
		add(c.Shares != nil, "--cpu-shares", "cpu")
		// --cpus and --cpu-quota both become a quota: they cannot be told
		// apart here.
		add(c.Quota != nil, "--cpus/--cpu-quota", "cpu")
		add(c.Period != nil && *c.Period != cfsDefaultPeriod, "--cpu-period", "cpu")
		add(c.RealtimePeriod != nil, "--cpu-rt-period", "cpu")
		add(c.RealtimeRuntime != nil, "--cpu-rt-runtime", "cpu")
		add(c.Cpus != "", "--cpuset-cpus", "cpuset")
		add(c.Mems != "", "--cpuset-mems", "cpuset")
	}
	if b := r.BlockIO; b != nil {
		add(b.Weight != nil, "--blkio-weight", "io")
		add(len(b.WeightDevice) > 0, "--blkio-weight-device", "io")
		add(len(b.ThrottleReadBpsDevice) > 0, "--device-read-bps", "io")
		add(len(b.ThrottleWriteBpsDevice) > 0, "--device-write-bps", "io")
		add(len(b.ThrottleReadIOPSDevice) > 0, "--device-read-iops", "io")
		add(len(b.ThrottleWriteIOPSDevice) > 0, "--device-write-iops", "io")
	}
	if p := r.Pids; p != nil {
		add(p.Limit != nil && *p.Limit > 0, "--pids-limit", "pids")
	}
	return out
}

// delegatedOnly is r without the limits whose controllers are not among
// ctrls (a delegated cgroup's cgroup.controllers), which writing would
// fail on: the container runs without them, as IgnoredLimits warned.
func delegatedOnly(r *specs.LinuxResources, ctrls []string) *specs.LinuxResources {
	out := *r
	has := func(c string) bool { return slices.Contains(ctrls, c) }
	if !has("memory") {
		out.Memory = nil
	}
	if !has("io") {
		out.BlockIO = nil
	}
	if !has("pids") {
		out.Pids = nil
	}
	if c := out.CPU; c != nil {
		cpu := *c
		if !has("cpu") {
			cpu.Shares, cpu.Quota, cpu.Burst, cpu.Period, cpu.RealtimePeriod, cpu.RealtimeRuntime, cpu.Idle = nil, nil, nil, nil, nil, nil, nil
		}
		if !has("cpuset") {
			cpu.Cpus, cpu.Mems = "", ""
		}
		out.CPU = &cpu
	}
	return &out
}

// cfsDefaultPeriod is the kernel's CFS period (µs): asking for it changes
// nothing.
const cfsDefaultPeriod = 100000

// flagList names the flags, comma-separated.
func flagList(ls []limitFlag) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.flag
	}
	return strings.Join(names, ", ")
}
