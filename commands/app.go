package commands

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/rolesbin"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// Version is set at link time by the Makefile.
var Version = "dev"

// ExitError carries a command's exit status; docker's codes (run: 125 skiff
// failed, 126 cannot execute, 127 not found, else the process's own; other
// commands 1) are chosen where the error is made.
type ExitError struct {
	Code int
	Err  error // nil when the status is the container's own and nothing is printed
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// Globals are the settings every verb gets from the global flags and config file.
type Globals struct {
	Paths              config.Paths
	InsecureRegistries []string
	// Bridge is how the default bridge network is made (the config
	// file's bip and default-address-pools) and where it keeps its state.
	Bridge network.Config
	// DNS is the config file's "dns", "dns-search" and "dns-opts".
	DNS spec.DNSDefaults
	// StorageDriver is the config file's "storage-driver" (rootless).
	StorageDriver string

	bridgeChecked bool // ensureBridge ran once in this command
}

// Containers is the container store at the global paths: every verb's way
// to a container.
func (g *Globals) Containers() container.Store {
	return container.Store{Root: g.Paths.Root, RunRoot: g.Paths.RunRoot, StorageDriver: g.StorageDriver}
}

// globals builds Globals from the parsed global flags.
func globals(c *cli.Context) (*Globals, error) {
	rootless := userns.Rootless()
	def := config.DefaultPaths(rootless, userns.HostUser().UID)
	g := &Globals{Paths: def}
	if v := c.String("root"); v != "" {
		g.Paths.Root = v
	}
	if v := c.String("runroot"); v != "" {
		g.Paths.RunRoot = v
	}
	if err := checkStoreOwner(g.Paths.Root, rootless); err != nil {
		return nil, err
	}
	if rootless && g.Paths.RunRoot == def.RunRoot {
		if err := checkFallbackRunDir(g.Paths.RunRoot); err != nil {
			return nil, err
		}
	}
	path := c.String("config")
	if path == "" {
		path = config.DefaultFilePath(rootless)
	}
	f, err := config.LoadFile(path)
	if err != nil {
		return nil, err
	}
	g.InsecureRegistries = append(f.InsecureRegistries, c.StringSlice("insecure-registry")...)
	g.Bridge = bridgeConfig(f, g.Paths.RunRoot)
	g.DNS = spec.DNSDefaults{Servers: f.DNS, Search: f.DNSSearch, Options: f.DNSOpts}
	g.StorageDriver = f.StorageDriver
	rolesbin.SetRunRoot(g.Paths.RunRoot) // installed there on a start's first use
	// What a killed build left (its containers, their processes, cgroups
	// and volumes) goes with the next command; none: one failed ReadDir.
	build.SweepBuildContainers(build.BuildContainers(g.Paths.Root, g.Paths.RunRoot))
	// What a killed monitor left on the bridge (rules, veths, addresses)
	// likewise; with nothing allocated it is one failed open.
	// A build's containers are its own (their locks under build's run
	// root), on the same bridge.
	// The same for user networks' members (their DNS names, addresses).
	runRoot, buildRunRoot := g.Paths.RunRoot, build.BuildContainers(g.Paths.Root, g.Paths.RunRoot).RunRoot
	alive := func(id string) bool {
		return state.MonitorAlive(runRoot, id) || state.MonitorAlive(buildRunRoot, id)
	}
	network.Sweep(g.Bridge, alive)
	g.userNetworks().SweepMembers(alive)
	return g, nil
}

// verbs collects the command builders registered by the per-verb files' init
// funcs, so adding a verb touches only its own file. NewApp calls them, not
// init: package init runs in every skiff process, the re-exec'd container
// init and monitor too, and building every command with its flags there cost
// each of them ~0.13 ms and ~580 allocations (GODEBUG=inittrace=1).
var verbs []func() *cli.Command

func register(builders ...func() *cli.Command) { verbs = append(verbs, builders...) }

// buildVerbs builds the CLI's commands, in registration order.
func buildVerbs() []*cli.Command {
	cmds := make([]*cli.Command, len(verbs))
	for i, build := range verbs {
		cmds[i] = build()
	}
	return cmds
}

// NewApp builds the CLI.
func NewApp() *cli.App {
	app := &cli.App{
		Name:            "skiff",
		Usage:           "pull and run containers with no daemon",
		Version:         Version,
		HideHelpCommand: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "root", Usage: "where images, layers and container records live (default /var/lib/skiff, or $XDG_DATA_HOME/skiff)"},
			&cli.StringFlag{Name: "runroot", Usage: "where pids, locks and sockets live (default /run/skiff, or $XDG_RUNTIME_DIR/skiff)"},
			&cli.StringFlag{Name: "config", Usage: "config file (default /etc/skiff/config.json, or $XDG_CONFIG_HOME/skiff/config.json)"},
			&cli.StringSliceFlag{Name: "insecure-registry", Usage: "registry reached over plain http (repeatable)"},
			&cli.BoolFlag{Name: "debug", Aliases: []string{"D"}, Usage: "print when each phase of the command, its container's monitor and init happens (ms since skiff started), on stderr", Action: startTimeline},
		},
		Commands:       buildVerbs(),
		OnUsageError:   flagError,
		ExitErrHandler: func(*cli.Context, error) {}, // Main prints and exits
	}
	setFlagError(app.Commands)
	return app
}

// startTimeline turns -D's phase marks on (internal/timeline): only a
// given flag runs its action, so without -D this costs nothing.
func startTimeline(_ *cli.Context, on bool) error {
	if on {
		timeline.StartCLI()
	}
	return nil
}

// setFlagError gives every command docker's flag errors (cli.go), and no
// `help` subcommand: `skiff help VERB` is prepareArgs' (urfave would also
// add one to each verb, which then looks like a group).
func setFlagError(cmds []*cli.Command) {
	for _, c := range cmds {
		c.OnUsageError = flagError
		c.HideHelpCommand = true
		setFlagError(c.Subcommands)
	}
}

// Main runs the CLI and returns the process exit status.
func Main(args []string) int {
	app := NewApp()
	args, u := prepareArgs(app, args)
	if u != nil {
		fmt.Fprintln(os.Stderr, "skiff:", u.msg)
		return u.code
	}
	if code, ran := enterUserNS(app, args); ran {
		return code
	}
	err := app.Run(args)
	timeline.Mark("done")
	if err == nil {
		return 0
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			printError(ee.Err)
		}
		return ee.Code
	}
	printError(err)
	return 1
}

// printError prints one error line in skiff's one style: "skiff: " and
// the sentence, docker's own where scripts match it.
func printError(err error) { fmt.Fprintln(os.Stderr, "skiff:", err) }

// daemonError is docker's wording for what its daemon refused: scripts
// match "Error response from daemon: No such container: x".
func daemonError(err error) error { return fmt.Errorf("Error response from daemon: %w", err) }
