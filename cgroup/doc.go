// Package cgroup owns a container's cgroup on v1 and v2 hierarchies: created at
// the root of each hierarchy as /skiff/<id> (never under the caller's cgroup),
// or, for a rootless user, as <delegated subtree>/skiff/<id> under the cgroup v2
// subtree delegated to it (Delegated), joined by the container's init, holding
// it to its limits and device rules (the v1 list, the cgroup2 eBPF device
// program), and removed when the container is gone.
package cgroup
