// Command skiff pulls, builds and runs containers as one static binary with no daemon.
package main

import (
	"os"

	"github.com/skiff-dev/skiff/commands"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/run"
)

func main() {
	// The re-exec'd container init is dispatched before the CLI is built: it must
	// not parse flags, read config files or start goroutines it does not need.
	if len(os.Args) > 1 && os.Args[1] == run.InitArg {
		run.Init() // never returns
	}
	if len(os.Args) > 1 && os.Args[1] == monitor.Arg {
		monitor.Main(os.Args[2:]) // never returns
	}
	if len(os.Args) > 1 && os.Args[1] == run.ExecArg {
		run.ExecInit() // never returns
	}
	os.Exit(commands.Main(os.Args))
}
