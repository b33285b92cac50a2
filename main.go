// The runtime's cgroup-aware GOMAXPROCS would keep the cgroup's cpu
// files open for life: in a --init container's PID 1 (skiff-init) those
// are host files a container with CAP_SYS_PTRACE could reopen through
// /proc/1/fd. Off, the runtime reads them once and closes them.
//
//go:debug containermaxprocs=0

// Command skiff pulls, builds and runs containers as one static binary with no daemon.
package main

import (
	"math"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/commands"
	"github.com/skiff-dev/skiff/roles"
)

func main() {
	// The re-exec'd roles (container init, monitor, exec'd process) are
	// dispatched before the CLI is built; they are here too for a skiff
	// built without the embedded skiff-roles (internal/rolesbin).
	roles.Run(os.Args)
	// An fd skiff's caller left open without close-on-exec would pass on
	// to a container's monitor and, with --init, stay open in its PID 1:
	// from here on each closes at exec (one call; before Linux 5.11 the
	// init's own marking still keeps them from the container's process).
	unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	os.Exit(commands.Main(os.Args))
}
