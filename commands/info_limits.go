package commands

import (
	"os"
	"slices"
	"strings"
)

// setLimitSupport fills info's MemoryLimit, SwapLimit, CpuCfsPeriod,
// CpuCfsQuota, CPUShares, CPUSet, PidsLimit and OomKillDisable as docker's
// sysinfo does: what the host's cgroups let a container's limits use (v1:
// each controller's files; pure v2: the root's delegated controllers).
func setLimitSupport(d *infoDoc) {
	if b, err := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control"); err == nil {
		ctrls := strings.Fields(string(b))
		has := func(c string) bool { return slices.Contains(ctrls, c) }
		d.MemoryLimit, d.SwapLimit = has("memory"), has("memory")
		d.CPUCfsPeriod, d.CPUCfsQuota, d.CPUShares = has("cpu"), has("cpu"), has("cpu")
		d.CPUSet, d.PidsLimit = has("cpuset"), has("pids")
		return // v2 has no OOM-killer switch
	}
	exists := func(p string) bool { _, err := os.Stat("/sys/fs/cgroup/" + p); return err == nil }
	d.MemoryLimit = exists("memory/memory.limit_in_bytes")
	d.SwapLimit = exists("memory/memory.memsw.limit_in_bytes")
	d.OomKillDisable = exists("memory/memory.oom_control")
	d.CPUCfsPeriod = exists("cpu/cpu.cfs_period_us")
	d.CPUCfsQuota = exists("cpu/cpu.cfs_quota_us")
	d.CPUShares = exists("cpu/cpu.shares")
	d.CPUSet = exists("cpuset/cpuset.cpus")
	d.PidsLimit = exists("pids/tasks") // the root has no pids.max: mounted is enough
}
