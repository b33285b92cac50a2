package spec

// The record's limits as OCI resources (what containerd/cgroups writes):
// docker's meaning of each flag, translated once.

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/state"
)

// cfsPeriod is the kernel's default CFS period (µs) --cpus divides.
const cfsPeriod = 100000

// Resources translates l; nil when l sets nothing the cgroup holds, so a
// container without limits writes nothing. What the host's kernel lacks
// (swap accounting, a blkio weight) the cgroup package drops, as docker.
func Resources(l state.Limits) *specs.LinuxResources {
	r := &specs.LinuxResources{
		Memory:  memoryResources(l),
		CPU:     cpuResources(l),
		BlockIO: blockIOResources(l),
	}
	if l.PidsLimit != 0 {
		n := l.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &n}
	}
	if r.Memory == nil && r.CPU == nil && r.BlockIO == nil && r.Pids == nil {
		return nil
	}
	return r
}

func memoryResources(l state.Limits) *specs.LinuxMemory {
	m := &specs.LinuxMemory{}
	set := false
	if l.Memory > 0 {
		m.Limit, set = ptr(l.Memory), true
	}
	if l.MemorySwap != 0 {
		m.Swap, set = ptr(l.MemorySwap), true
	}
	if l.MemoryReservation > 0 {
		m.Reservation, set = ptr(l.MemoryReservation), true
	}
	if l.MemorySwappiness != nil {
		m.Swappiness, set = ptr(uint64(*l.MemorySwappiness)), true
	}
	if l.OomKillDisable {
		m.DisableOOMKiller, set = ptr(true), true
	}
	// --kernel-memory is warned about and not applied, as docker.
	if !set {
		return nil
	}
	return m
}

func cpuResources(l state.Limits) *specs.LinuxCPU {
	c := &specs.LinuxCPU{Cpus: l.CpusetCpus, Mems: l.CpusetMems}
	set := c.Cpus != "" || c.Mems != ""
	if l.CPUShares > 0 {
		c.Shares, set = ptr(uint64(l.CPUShares)), true
	}
	switch {
	case l.NanoCPUs > 0:
		// docker: quota = cpus × period, over the default period.
		c.Period, c.Quota, set = ptr(uint64(cfsPeriod)), ptr(l.NanoCPUs*cfsPeriod/1e9), true
	default:
		if l.CPUPeriod > 0 {
			c.Period, set = ptr(uint64(l.CPUPeriod)), true
		}
		if l.CPUQuota != 0 {
			c.Quota, set = ptr(l.CPUQuota), true
		}
	}
	if !set {
		return nil
	}
	return c
}

func blockIOResources(l state.Limits) *specs.LinuxBlockIO {
	b := &specs.LinuxBlockIO{
		ThrottleReadBpsDevice:   throttles(l.BlkioDeviceReadBps),
		ThrottleWriteBpsDevice:  throttles(l.BlkioDeviceWriteBps),
		ThrottleReadIOPSDevice:  throttles(l.BlkioDeviceReadIOps),
		ThrottleWriteIOPSDevice: throttles(l.BlkioDeviceWriteIOps),
	}
	if l.BlkioWeight > 0 {
		b.Weight = ptr(l.BlkioWeight)
	}
	if b.Weight == nil && b.ThrottleReadBpsDevice == nil && b.ThrottleWriteBpsDevice == nil &&
		b.ThrottleReadIOPSDevice == nil && b.ThrottleWriteIOPSDevice == nil {
		return nil
	}
	return b
}

func throttles(ds []state.ThrottleDevice) []specs.LinuxThrottleDevice {
	if len(ds) == 0 {
		return nil
	}
	out := make([]specs.LinuxThrottleDevice, len(ds))
	for i, d := range ds {
		out[i].Major, out[i].Minor, out[i].Rate = d.Major, d.Minor, d.Rate
	}
	return out
}

func ptr[T any](v T) *T { return &v }
