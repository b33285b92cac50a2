package commands

import "github.com/skiff-dev/skiff/state"

// throttleDevice is docker's blkiodev.ThrottleDevice in HostConfig.
type throttleDevice struct {
	Path string
	Rate uint64
}

// setLimits fills HostConfig's Resources from the record's limits as
// docker shows them: unset pointers null, throttles as given.
func setLimits(h *hostConfig, l state.Limits) {
	h.Memory, h.MemorySwap, h.MemoryReservation = l.Memory, l.MemorySwap, l.MemoryReservation
	h.KernelMemory, h.MemorySwappiness = l.KernelMemory, l.MemorySwappiness
	h.NanoCpus, h.CpuShares, h.CpuPeriod, h.CpuQuota = l.NanoCPUs, l.CPUShares, l.CPUPeriod, l.CPUQuota
	h.CpusetCpus, h.CpusetMems, h.BlkioWeight = l.CpusetCpus, l.CpusetMems, l.BlkioWeight
	h.OomScoreAdj, h.CgroupParent = l.OomScoreAdj, l.CgroupParent
	if l.CgroupnsMode != "" {
		h.CgroupnsMode = l.CgroupnsMode
	}
	if l.OomKillDisable {
		h.OomKillDisable = &l.OomKillDisable
	}
	if l.PidsLimit != 0 {
		h.PidsLimit = &l.PidsLimit
	}
	h.BlkioDeviceReadBps = throttleDevices(l.BlkioDeviceReadBps)
	h.BlkioDeviceWriteBps = throttleDevices(l.BlkioDeviceWriteBps)
	h.BlkioDeviceReadIOps = throttleDevices(l.BlkioDeviceReadIOps)
	h.BlkioDeviceWriteIOps = throttleDevices(l.BlkioDeviceWriteIOps)
}

func throttleDevices(ds []state.ThrottleDevice) []any {
	out := []any{}
	for _, d := range ds {
		out = append(out, throttleDevice{Path: d.Path, Rate: d.Rate})
	}
	return out
}
