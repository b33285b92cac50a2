package cgroup

import (
	"os"
	"path/filepath"
	"strings"
)

// OOMKilled reports whether the kernel's OOM killer killed a process of
// the container, read from its memory cgroup before the cgroup is removed:
// v2 memory.events' oom_kill, v1 memory.oom_control's oom_kill. A v1
// kernel older than 4.13 has no such count: there, as runc reads it, a
// cgroup still under OOM, or whose limit was hit (memory.failcnt), counts
// when the process died of SIGKILL (killed).
func (c *Cgroup) OOMKilled(killed bool) (bool, error) {
	s, err := c.stats(controllers{memory: true})
	if err != nil || !s.have.memory {
		return false, err
	}
	if s.OOMKills > 0 {
		return true, nil
	}
	if c.countsOOMKills() {
		return false, nil
	}
	return killed && (s.UnderOOM || s.MemoryFailcnt > 0), nil
}

// countsOOMKills reports whether the kernel counts OOM kills: always on v2,
// on v1 when memory.oom_control has an oom_kill line.
func (c *Cgroup) countsOOMKills() bool {
	for _, d := range c.dirs {
		b, err := os.ReadFile(filepath.Join(d.path, "memory.oom_control"))
		if err == nil {
			return strings.Contains(string(b), "\noom_kill ")
		}
	}
	return true
}
