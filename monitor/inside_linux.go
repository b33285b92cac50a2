package monitor

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/state"
)

// RunInside has container c's monitor run skiff's CLI with args (args[0]
// included) inside the container's user namespace, where a rootless
// container's namespaces can be joined (a multi-threaded Go process cannot
// join a user namespace itself): the monitor starts the skiff binary it was
// handed, with our stdin, stdout, stderr, working directory and
// environment (ContainerEnvVar of package userns set to c's id), relays the
// signals we pass on, and RunInside returns its exit status. For exec, and
// cp to or from a running container, of a rootless skiff.
func RunInside(runRoot string, c *state.Container, args []string) (int, error) {
	return 125, errors.New("monitor.RunInside: not implemented yet")
}

// SignalContainer has c's monitor send sig to the container's process: a
// rootless skiff outside the container's user namespace may not signal a
// process that runs as another of its ids (kill's EPERM); the monitor,
// inside, may.
func SignalContainer(runRoot string, c *state.Container, sig unix.Signal) error {
	return errors.New("monitor.SignalContainer: not implemented yet")
}
