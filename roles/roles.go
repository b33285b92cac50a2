// Package roles dispatches skiff's re-executed roles (a container's init,
// a process exec adds, a container's monitor) by their hidden first
// argument, for both programs that carry them: skiff itself and the small
// skiff-roles program make embeds in it (internal/rolesbin).
package roles

import (
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/monitor/server"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/userns"
)

// Run runs the role args names (args is os.Args) and never returns; it
// returns at once when args names none. The roles must not parse flags,
// read config files or start goroutines they do not need.
func Run(args []string) {
	if len(args) < 2 {
		return
	}
	switch args[1] { // each never returns
	case run.InitArg:
		run.Init()
	case monitor.Arg:
		server.Main(args[2:])
	case run.ExecArg:
		run.ExecInit()
	case userns.StubArg:
		userns.StubMain(args)
	}
}
