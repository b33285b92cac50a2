package cgroup

// View is one hierarchy's directory of a container's cgroup and where the
// container sees it under its read-only /sys/fs/cgroup (as runc binds
// them on v1): JVMs, Go and Node read their limits there.
type View struct {
	Dir    string `json:"dir"`
	Target string `json:"target"`
}

// hostCgroupRoot is where the hierarchies are mounted on the host, and
// shown in a container.
const hostCgroupRoot = "/sys/fs/cgroup"
