package cgroup

// Statistics are read with containerd/cgroups (the library parses every
// controller's files), one controller at a time: on a hybrid host the
// library's hierarchy helpers want every v1 subsystem it knows mounted, so
// skiff hands each controller the directory it already knows instead.

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/containerd/cgroups/v3/cgroup1"
	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	"github.com/containerd/cgroups/v3/cgroup2"
	v2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
)

// Stats are a container's resource figures at one instant: what
// `skiff stats` shows, with the CPU time to turn into a percentage.
type Stats struct {
	CPUNanos uint64 // CPU time used since the cgroup was made
	// Memory is the usage without the inactive file cache (docker's rule:
	// v1 total_inactive_file, v2 inactive_file), MemoryLimit the cgroup's
	// limit (math.MaxUint64 or a huge page-rounded value when unlimited).
	Memory, MemoryLimit uint64
	BlockRead           uint64 // bytes read from block devices
	BlockWrite          uint64 // bytes written to block devices
	Pids                uint64 // processes and threads in the cgroup
	// OOMKills counts the kernel's OOM kills in the cgroup (v1
	// memory.oom_control oom_kill, v2 memory.events oom_kill); UnderOOM and
	// MemoryFailcnt are v1's signs of it on kernels without that count.
	OOMKills, MemoryFailcnt uint64
	UnderOOM                bool

	have controllers
}

// controllers records which figures some hierarchy gave, so a v2 directory
// on a hybrid host (which holds no controller but hugetlb) fills only what
// the v1 hierarchies left out.
type controllers struct{ cpu, memory, blkio, pids bool }

var allControllers = controllers{cpu: true, memory: true, blkio: true, pids: true}

// Stats reads the container's statistics from every hierarchy it has.
func (c *Cgroup) Stats() (Stats, error) { return c.stats(allControllers) }

// stats reads the figures of the controllers wanted.
func (c *Cgroup) stats(want controllers) (Stats, error) {
	var s Stats
	for _, d := range c.dirs {
		if d.h.V2 {
			continue
		}
		if err := statV1(d, want, &s); err != nil {
			return s, err
		}
	}
	for _, d := range c.dirs {
		if d.h.V2 {
			if err := statV2(d.h.Mount, d.path, want, &s); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

// v1Stater is what statistics need of a cgroup1 controller.
type v1Stater interface {
	Stat(path string, m *v1stats.Metrics) error
}

// statV1 reads one v1 hierarchy. The library's controllers take the
// directory that holds the hierarchies and add their own name to it; a
// hierarchy mounted under another name (cpu,cpuacct) is reached by a path
// relative to that, which filepath.Join cleans.
func statV1(d dir, want controllers, s *Stats) error {
	root := filepath.Dir(d.h.Mount)
	rel, err := filepath.Rel(d.h.Mount, d.path)
	if err != nil {
		return err
	}
	inMount := filepath.Join("..", filepath.Base(d.h.Mount), rel)
	// The library's cgroup1.Stat preallocates the CPU figures its
	// controllers fill; so does this.
	m := v1stats.Metrics{CPU: &v1stats.CPUStat{Throttling: &v1stats.Throttle{}, Usage: &v1stats.CPUUsage{}}}
	probe := func(wanted bool, file string, name cgroup1.Name, ctrl v1Stater) (bool, error) {
		if !wanted || !exists(filepath.Join(d.path, file)) {
			return false, nil
		}
		if err := ctrl.Stat(inMount, &m); err != nil {
			return false, fmt.Errorf("cgroup %s: %s statistics: %w", d.path, name, err)
		}
		return true, nil
	}
	var ok bool
	if ok, err = probe(want.cpu, "cpuacct.usage", cgroup1.Cpuacct, cgroup1.NewCpuacct(root)); err != nil {
		return err
	} else if ok && !s.have.cpu {
		s.have.cpu, s.CPUNanos = true, m.CPU.Usage.Total
	}
	if ok, err = probe(want.memory, "memory.stat", cgroup1.Memory, cgroup1.NewMemory(root, cgroup1.IgnoreModules("memsw", "kmem", "kmem.tcp"))); err != nil {
		return err
	} else if ok && !s.have.memory {
		s.have.memory = true
		s.Memory = withoutCache(m.Memory.Usage.Usage, m.Memory.TotalInactiveFile)
		s.MemoryLimit, s.MemoryFailcnt = m.Memory.Usage.Limit, m.Memory.Usage.Failcnt
		s.OOMKills, s.UnderOOM = m.MemoryOomControl.OomKill, m.MemoryOomControl.UnderOom != 0
	}
	if ok, err = probe(want.blkio, "blkio.throttle.io_service_bytes", cgroup1.Blkio, cgroup1.NewBlkio(root)); err != nil {
		return err
	} else if ok && !s.have.blkio {
		s.have.blkio = true
		for _, e := range m.Blkio.IoServiceBytesRecursive {
			s.addBlock(e.Op, e.Value)
		}
	}
	if ok, err = probe(want.pids, "pids.current", cgroup1.Pids, cgroup1.NewPids(root)); err != nil {
		return err
	} else if ok && !s.have.pids {
		s.have.pids, s.Pids = true, m.Pids.Current
	}
	return nil
}

// statV2 reads the unified hierarchy's directory for the figures whose
// controller it has.
func statV2(mount, path string, want controllers, s *Stats) error {
	group, err := filepath.Rel(mount, path)
	if err != nil {
		return err
	}
	mgr, err := cgroup2.Load("/"+group, cgroup2.WithMountpoint(mount))
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", path, err)
	}
	m, err := mgr.StatFiltered(want.v2Mask())
	if err != nil {
		return fmt.Errorf("cgroup %s: statistics: %w", path, err)
	}
	if !s.have.cpu && m.CPU != nil && exists(filepath.Join(path, "cpu.stat")) {
		s.have.cpu, s.CPUNanos = true, m.CPU.UsageUsec*1000
	}
	if !s.have.memory && m.Memory != nil && exists(filepath.Join(path, "memory.current")) {
		s.have.memory = true
		s.Memory = withoutCache(m.Memory.Usage, m.Memory.InactiveFile)
		s.MemoryLimit = m.Memory.UsageLimit
		s.OOMKills = oomKillsV2(m.MemoryEvents)
	}
	if !s.have.blkio && m.Io != nil && exists(filepath.Join(path, "io.stat")) {
		s.have.blkio = true
		for _, e := range m.Io.Usage {
			s.BlockRead += e.Rbytes
			s.BlockWrite += e.Wbytes
		}
	}
	if !s.have.pids && m.Pids != nil && exists(filepath.Join(path, "pids.current")) {
		s.have.pids, s.Pids = true, m.Pids.Current
	}
	return nil
}

// v2Mask is the library's mask for the controllers wanted.
func (want controllers) v2Mask() cgroup2.StatMask {
	var mask cgroup2.StatMask
	for _, c := range []struct {
		on   bool
		mask cgroup2.StatMask
	}{{want.cpu, cgroup2.StatCPU}, {want.memory, cgroup2.StatMemory | cgroup2.StatMemoryEvents}, {want.blkio, cgroup2.StatIO}, {want.pids, cgroup2.StatPids}} {
		if c.on {
			mask |= c.mask
		}
	}
	return mask
}

func oomKillsV2(ev *v2stats.MemoryEvents) uint64 {
	if ev == nil {
		return 0
	}
	return ev.OomKill
}

// addBlock adds one blkio entry: docker's BLOCK I/O sums the Read and
// Write operations over every device.
func (s *Stats) addBlock(op string, v uint64) {
	switch op {
	case "Read", "read":
		s.BlockRead += v
	case "Write", "write":
		s.BlockWrite += v
	}
}

// withoutCache is docker's memory usage: the inactive file cache can be
// reclaimed at once, so it is not counted.
func withoutCache(usage, inactiveFile uint64) uint64 {
	if inactiveFile < usage {
		return usage - inactiveFile
	}
	return usage
}

// Unlimited reports whether a memory limit read from a cgroup means "no
// limit": v2 says max, v1 a page-rounded near-MaxInt64.
func Unlimited(limit uint64) bool {
	return limit == 0 || limit >= math.MaxInt64/2
}
