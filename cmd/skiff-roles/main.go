// The runtime's cgroup-aware GOMAXPROCS would keep the cgroup's cpu
// files open for life: in a --init container's PID 1 (skiff-init) those
// are host files a container with CAP_SYS_PTRACE could reopen through
// /proc/1/fd. Off, the runtime reads them once and closes them.
//
//go:debug containermaxprocs=0

// Command skiff-roles is the part of skiff that runs beside a container:
// its init, a process exec adds, its monitor. make embeds it in skiff
// (internal/rolesbin), and skiff re-executes it instead of itself: it
// links no registry client, HTTP stack or CLI, so each of a run's re-exec'd
// processes starts faster (issue 10). It is never installed on its own.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/roles"
)

func main() {
	roles.Run(os.Args)
	os.Exit(2) // not a role: nothing else lives here
}
