// Package proc identifies a host process safely: by pid plus start time
// (from /proc/<pid>/stat, through internal/procstat), or by a pidfd that
// pins it for signals and waits; and it finds a process's descendants.
package proc
