// Package cgroup owns a container's cgroup on v1 and v2 hierarchies: created at
// the root of each hierarchy as /skiff/<id> (never under the caller's cgroup),
// joined by the container's init, and removed when the container is gone.
package cgroup
