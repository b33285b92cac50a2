package commands

// A rootless skiff (docs/design.md, "Rootless: the user namespace"): the
// commands that touch the store's files run inside a fresh user and mount
// namespace that maps the user to root and its /etc/subuid and /etc/subgid
// ranges above; the rest stay on the host, where they cost nothing more.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/internal/rolesbin"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// hostVerb reports whether a rootless skiff runs verb on the host: it
// reads records, or signals processes (which the host user may do to any
// process of its namespaces; a sibling namespace may not), or hands the
// work to a container's monitor (exec). Every other command, and every
// command of the network group, runs in the namespace. (A switch, not a
// map: a package-level map is built at every skiff process's start.)
func hostVerb(verb string) bool {
	switch verb {
	case "attach", "completion", "exec", "history", "images", "info", "inspect", "kill",
		"login", "logout", "logs", "pause", "unpause", "port", "ps", "ls", "rename",
		"search", "stats", "stop", "tag", "top", "version", "wait":
		return true
	}
	return false
}

// imageVerb reports whether verb may bring an image's layers into the
// store: the range warnings (single-id mapping, too few ids) are printed
// for these only, before their work starts.
func imageVerb(verb string) bool {
	switch verb {
	case "pull", "run", "create", "build", "load", "import":
		return true
	}
	return false
}

// enterUserNS runs args in a rootless user namespace when this process is
// a rootless skiff on the host and args' command needs one, and returns
// that run's exit status and true; false when args run here.
func enterUserNS(app *cli.App, args []string) (int, bool) {
	if os.Geteuid() == 0 || userns.Inside() {
		return 0, false
	}
	path, debug := verbPath(app, args)
	if len(path) == 0 || hostVerb(path[len(path)-1]) || path[0] == "network" {
		return 0, false
	}
	if debug {
		timeline.StartCLI()
	}
	verb := path[len(path)-1]
	failed := 1
	if verb == "run" {
		failed = 125
	}
	sub, err := userns.Read(userns.Current(), userns.SystemFiles)
	if err != nil {
		printError(err)
		return failed, true
	}
	warnings, err := userns.Preflight(sub, userns.Helpers{})
	if err != nil {
		printError(err)
		return failed, true
	}
	if imageVerb(verb) {
		for _, w := range warnings {
			fmt.Fprintln(os.Stderr, "WARNING:", w)
		}
	}
	self, err := os.Executable()
	if err != nil {
		printError(fmt.Errorf("rootless: find skiff's own binary: %w", err))
		return failed, true
	}
	timeline.Mark("userns-checked")
	code, err := userns.Reexec(stubBinary(args), self, args, sub.Mapping())
	if err != nil {
		printError(err)
	}
	return code, true
}

// verbPath is the command args name, as names of nested commands
// ("image", "rm"): global flags are skipped, aliases resolved; debug says
// whether -D is among them.
func verbPath(app *cli.App, args []string) (path []string, debug bool) {
	if len(args) < 2 {
		return nil, false
	}
	globals := append(slices.Clone(app.Flags), cli.HelpFlag, cli.VersionFlag)
	flags, rest, err := splitFlags(globals, nil, args[1:], true)
	if err != nil {
		return nil, false
	}
	for _, f := range flags {
		debug = debug || f == "-D" || f == "--debug" || f == "-D=true" || f == "--debug=true"
	}
	for cmds := app.Commands; len(rest) > 0 && !strings.HasPrefix(rest[0], "-"); rest = rest[1:] {
		cmd := findCommand(cmds, rest[0])
		if cmd == nil {
			break
		}
		path = append(path, cmd.Name)
		if len(cmd.Subcommands) == 0 {
			break
		}
		cmds = cmd.Subcommands
	}
	return path, debug
}

// checkStoreOwner keeps rootless and rootful stores apart: a rootless
// skiff (inside its namespace, where the user is uid 0 and root's files
// are unmapped) uses only a store its user owns, root only a store root
// owns. A store that does not exist yet is made by whoever comes first.
func checkStoreOwner(root string, rootless bool) error {
	var st unix.Stat_t
	if err := unix.Stat(root, &st); err != nil {
		return nil
	}
	own := uint32(os.Geteuid()) // the user's uid on the host, 0 inside its namespace
	switch {
	case rootless && st.Uid != own:
		return fmt.Errorf("%s is not this user's store (root's, or another user's): a rootless skiff keeps its own under $XDG_DATA_HOME/skiff; drop --root or choose a directory of yours", root)
	case !rootless && st.Uid != 0:
		return fmt.Errorf("%s is the store of uid %d, a rootless one: root keeps its own under /var/lib/skiff; drop --root or choose a directory root owns", root, st.Uid)
	}
	return nil
}

// stubBinary is the program Reexec's stub runs as: skiff-roles, which
// starts in a third of skiff's time, installed in the default run root
// (Binary falls back to skiff itself; so does a --runroot: the stub is
// only a stepping stone, not worth parsing flags for).
func stubBinary(args []string) string {
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--runroot") }) {
		return rolesbin.Self
	}
	rolesbin.SetRunRoot(config.DefaultPaths(true, userns.HostUser().UID).RunRoot)
	return rolesbin.Binary()
}

// refuseRootlessNetwork is what a rootless skiff says to a command that
// would make bridges and rules (root's alone until issue 21).
func refuseRootlessNetwork(verb string) error {
	if !userns.Rootless() {
		return nil
	}
	return errors.New(verb + ": user-defined networks are not supported yet for rootless containers (their default network is tapnet; run skiff as root for networks)")
}

// checkFallbackRunDir makes, or checks, the per-user /tmp directory a
// rootless skiff keeps its run root in when there is no XDG_RUNTIME_DIR
// (su, runuser): /tmp is everyone's, so a directory of that name that is
// a link, another user's, or open to others would let them into our
// sockets and locks. It must be ours, and 0700.
func checkFallbackRunDir(runRoot string) error {
	if os.Getenv("XDG_RUNTIME_DIR") != "" {
		return nil
	}
	dir := filepath.Dir(runRoot)
	if filepath.Dir(dir) != filepath.Clean(os.TempDir()) || !strings.HasPrefix(filepath.Base(dir), "skiff-run-") {
		return nil // --runroot, not the fallback
	}
	if err := os.Mkdir(dir, 0o700); err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != uint32(os.Geteuid()) || st.Mode&0o077 != 0 {
		return fmt.Errorf("%s is not a directory of this user's with mode 0700 (uid %d, mode %#o): remove it, or set XDG_RUNTIME_DIR", dir, st.Uid, st.Mode&0o7777)
	}
	return nil
}

// insideRunning runs this command line in running container ref's user
// namespace, through its monitor (or that of one whose monitor waits to
// restart it), for a rootless skiff outside it: from a sibling namespace
// we can neither enter its root (/proc/PID/root of a process running as
// another of our ids) nor mount what its monitor holds mounted (cp, export).
// false: ref is not running (or not found: the caller reports that in its
// own words), the command runs here.
func insideRunning(g *Globals, verb, ref string) (bool, error) {
	if !userns.Rootless() || userns.JoinedContainer() != "" {
		return false, nil
	}
	ct, err := g.Containers().Lookup(ref)
	if err != nil || !(ct.Status.Up() || ct.Status == state.Restarting) {
		return false, nil
	}
	code, err := g.Containers().RunInside(ct, os.Args)
	switch {
	case err != nil:
		return true, &ExitError{Code: 1, Err: fmt.Errorf("%s: %w", verb, err)}
	case code != 0:
		return true, &ExitError{Code: code}
	}
	return true, nil
}
