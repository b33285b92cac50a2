package container

import (
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/state"
)

// RunInside runs skiff's CLI with args (os.Args) in c's user namespace,
// where its monitor starts it (monitor.RunInside), and returns its exit
// status: a rootless skiff outside that namespace can neither join the
// container's namespaces (exec) nor enter its root (cp of a running
// container), and the CLI inside runs root's code for them.
func (s Store) RunInside(c *state.Container, args []string) (int, error) {
	return monitor.RunInside(s.RunRoot, c, args)
}
