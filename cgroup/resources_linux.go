package cgroup

// A container's limits written with containerd/cgroups (the issue's
// library): cgroup2's manager on the unified hierarchy, cgroup1's
// controllers on each v1 hierarchy. The library's v1 hierarchy wants every
// controller it knows mounted at /sys/fs/cgroup/<name>; here each
// controller is told its own mount instead (see v1Controllers).

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Controller is what SetResources needs of a cgroup1 controller.
type v1Controller interface {
	Update(path string, r *specs.LinuxResources) error
}

// v1Controllers are the library's controllers a v1 hierarchy holds,
// recognised by a file each makes in every cgroup. cgroup1 controllers
// join their name to the root they are given: given the mount's parent,
// and a path that climbs back into the mount ("../cpu,cpuacct/skiff/id"),
// each writes into the hierarchy wherever it is mounted.
func v1Controllers(dirPath, mount string) []v1Controller {
	root := filepath.Dir(mount)
	var cs []v1Controller
	for _, c := range []struct {
		file string
		ctl  v1Controller
	}{
		{"memory.limit_in_bytes", cgroup1.NewMemory(root)},
		{"cpu.shares", cgroup1.NewCpu(root)},
		{"cpuset.cpus", cgroup1.NewCpuset(root)},
		{"pids.max", cgroup1.NewPids(root)},
		{"blkio.throttle.read_bps_device", cgroup1.NewBlkio(root)},
	} {
		if _, err := os.Stat(filepath.Join(dirPath, c.file)); err == nil {
			cs = append(cs, c.ctl)
		}
	}
	return cs
}

// SetResources writes r into every hierarchy of c, dropping first what
// this kernel cannot do (as docker: swap without swap accounting, a blkio
// weight without a weight file).
func (c *Cgroup) SetResources(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	r = c.supported(r)
	for _, d := range c.dirs {
		rel, err := filepath.Rel(d.h.Mount, d.path)
		if err != nil {
			return err
		}
		if d.h.V2 {
			if err := setV2Resources(d, rel, r); err != nil {
				return err
			}
			continue
		}
		inMount := filepath.Join("..", filepath.Base(d.h.Mount), rel)
		for _, ctl := range v1Controllers(d.path, d.h.Mount) {
			if err := ctl.Update(inMount, r); err != nil {
				return fmt.Errorf("cgroup %s: setting limits: %w", d.path, err)
			}
		}
		if err := unlimitPidsV1(d.path, r); err != nil {
			return err
		}
	}
	return nil
}

// unlimitPidsV1 writes "max" for an unlimited pids limit (update
// --pids-limit -1): the library's v1 controller writes positive limits only.
func unlimitPidsV1(dirPath string, r *specs.LinuxResources) error {
	if r.Pids == nil || r.Pids.Limit == nil || *r.Pids.Limit > 0 {
		return nil
	}
	p := filepath.Join(dirPath, "pids.max")
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	if err := writeFile(p, "max"); err != nil {
		return fmt.Errorf("cgroup %s: setting limits: %w", dirPath, err)
	}
	return nil
}

// setV2Resources writes r into a v2 cgroup whose controllers are enabled (a
// hybrid host's unified mount has none of these, and is skipped).
func setV2Resources(d dir, rel string, r *specs.LinuxResources) error {
	b, _ := os.ReadFile(filepath.Join(d.path, "cgroup.controllers"))
	if !slices.ContainsFunc(strings.Fields(string(b)), isResourceController) {
		return nil
	}
	if d.h.HostMount != "" {
		// A rootless container's delegated cgroup: the create warned that
		// what its controllers cannot hold is ignored (IgnoredLimits).
		r = delegatedOnly(r, strings.Fields(string(b)))
	}
	m, err := cgroup2.Load("/"+rel, cgroup2.WithMountpoint(d.h.Mount))
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", d.path, err)
	}
	res := cgroup2.ToResources(r)
	// The library turns memory+swap into swap by subtracting the memory
	// limit, which makes --memory-swap -1 (unlimited) a negative number the
	// kernel refuses: unlimited swap is written as "max" here instead.
	unlimitedSwap := r.Memory != nil && r.Memory.Swap != nil && *r.Memory.Swap == -1
	if unlimitedSwap && res.Memory != nil {
		res.Memory.Swap = nil
	}
	if err := m.Update(res); err != nil {
		return fmt.Errorf("cgroup %s: setting limits: %w", d.path, err)
	}
	if unlimitedSwap {
		if err := writeFile(filepath.Join(d.path, "memory.swap.max"), "max"); err != nil {
			return fmt.Errorf("cgroup %s: setting limits: %w", d.path, err)
		}
	}
	return nil
}

func isResourceController(name string) bool {
	switch name {
	case "cpu", "cpuset", "memory", "pids", "io":
		return true
	}
	return false
}

// supported is r without what no hierarchy of c has a file for.
func (c *Cgroup) supported(r *specs.LinuxResources) *specs.LinuxResources {
	out := *r
	if out.Memory != nil && out.Memory.Swap != nil && !c.hasFile("memory.memsw.limit_in_bytes", "memory.swap.max") {
		m := *out.Memory
		m.Swap = nil
		out.Memory = &m
	}
	if out.BlockIO != nil && out.BlockIO.Weight != nil && !c.hasFile("blkio.weight", "io.bfq.weight") {
		b := *out.BlockIO
		b.Weight = nil
		out.BlockIO = &b
	}
	return &out
}

// hasFile reports whether a v1 hierarchy of c has file v1, or its v2
// cgroup file v2.
func (c *Cgroup) hasFile(v1, v2 string) bool {
	for _, d := range c.dirs {
		name := v1
		if d.h.V2 {
			name = v2
		}
		if _, err := os.Stat(filepath.Join(d.path, name)); err == nil {
			return true
		}
	}
	return false
}

// SwapAccounting reports whether c can limit memory+swap.
func (c *Cgroup) SwapAccounting() bool {
	return c.hasFile("memory.memsw.limit_in_bytes", "memory.swap.max")
}

// Views are c's directories as the container sees them: each hierarchy
// mounted under the host's /sys/fs/cgroup, at the same place (a pure v2
// host's unified mount is /sys/fs/cgroup itself), a delegated subtree's at
// its hierarchy's place.
func (c *Cgroup) Views() []View {
	var vs []View
	for _, d := range c.dirs {
		rel, err := filepath.Rel(hostCgroupRoot, cmp.Or(d.h.HostMount, d.h.Mount))
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		vs = append(vs, View{Dir: d.path, Target: filepath.Join(hostCgroupRoot, rel)})
	}
	return vs
}
