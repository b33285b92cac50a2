// Command skiff pulls, builds and runs containers as one static binary with no daemon.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/commands"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/monitor/server"
	"github.com/skiff-dev/skiff/run"
)

func main() {
	// The re-exec'd roles (container init, monitor, exec'd process) are
	// dispatched before the CLI is built: they must not parse flags, read
	// config files or start goroutines they do not need.
	if len(os.Args) > 1 {
		switch os.Args[1] { // each never returns
		case run.InitArg:
			run.Init()
		case monitor.Arg:
			server.Main(os.Args[2:])
		case run.ExecArg:
			run.ExecInit()
		}
	}
	os.Exit(commands.Main(os.Args))
}
