// Command skiff pulls, builds and runs containers as one static binary with no daemon.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/commands"
	"github.com/skiff-dev/skiff/roles"
)

func main() {
	// The re-exec'd roles (container init, monitor, exec'd process) are
	// dispatched before the CLI is built; they are here too for a skiff
	// built without the embedded skiff-roles (internal/rolesbin).
	roles.Run(os.Args)
	os.Exit(commands.Main(os.Args))
}
