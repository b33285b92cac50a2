package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(runCommand) }

// listValue collects every occurrence of a flag verbatim. urfave's
// StringSliceFlag splits on commas, which would turn -e A=1,2 into two
// variables.
type listValue struct{ vals []string }

func (l *listValue) Set(s string) error { l.vals = append(l.vals, s); return nil }
func (l *listValue) String() string     { return strings.Join(l.vals, " ") }

// listFlag registers each alias as its own hidden flag sharing one value:
// urfave's alias handling would copy the joined value between names and
// reject "-e A=1 --env B=2" as two forms of one flag.
func listFlag(name string, aliases []string, usage string) []cli.Flag {
	v := &listValue{}
	if len(aliases) > 0 {
		shown := make([]string, len(aliases))
		for i, a := range aliases {
			shown[i] = "-" + a
			if len(a) > 1 {
				shown[i] = "--" + a
			}
		}
		usage += " (" + strings.Join(shown, ", ") + ")"
	}
	fs := []cli.Flag{&cli.GenericFlag{Name: name, Usage: usage, Value: v}}
	for _, a := range aliases {
		fs = append(fs, &cli.GenericFlag{Name: a, Value: v, Hidden: true})
	}
	return fs
}

func listOf(c *cli.Context, name string) []string {
	if l, ok := c.Generic(name).(*listValue); ok {
		return l.vals
	}
	return nil
}

// unsupportedRunFlags are docker run's other flags: known, so a script using
// one gets a clear "not supported yet" instead of a generic parse error or,
// worse, silent acceptance. They are not given to urfave: its per-flag
// IsSet scan is quadratic in the number of flags (with a regexp per name),
// and these ~90 cost skiff run 8 ms of CPU. prepareArgs (cli.go) names the
// first one on the command line as not supported yet. bool marks
// flags that take no value (kept for when they become real).
var unsupportedRunFlags = []struct {
	name    string
	aliases []string
	bool    bool
}{
	{"annotation", nil, false}, {"attach", []string{"a"}, false},
	{"blkio-weight-device", nil, false},
	{"cidfile", nil, false}, {"cpu-count", nil, false},
	{"cpu-percent", nil, false},
	{"cpu-rt-period", nil, false}, {"cpu-rt-runtime", nil, false},
	{"gpus", nil, false},
	{"health-cmd", nil, false}, {"health-interval", nil, false}, {"health-retries", nil, false},
	{"health-start-interval", nil, false}, {"health-start-period", nil, false},
	{"health-timeout", nil, false}, {"io-maxbandwidth", nil, false},
	{"io-maxiops", nil, false},
	{"isolation", nil, false}, {"label-file", nil, false}, {"link-local-ip", nil, false},
	{"log-driver", nil, false}, {"log-opt", nil, false},
	{"no-healthcheck", nil, true},
	{"platform", nil, false},
	{"runtime", nil, false},
	{"storage-opt", nil, false},
	{"use-api-socket", nil, true},
	{"volume-driver", nil, false},
}

func runFlags() []cli.Flag {
	fs := []cli.Flag{}
	fs = append(fs, listFlag("env", []string{"e"}, "set environment variables (VAR=value, or VAR to take ours)")...)
	fs = append(fs, listFlag("env-file", nil, "read environment variables from a file")...)
	fs = append(fs, listFlag("label", []string{"l"}, "set meta data on a container")...)
	fs = append(fs, listFlag("volume", []string{"v"}, "bind mount a volume (HOST:CTR[:ro], NAME:CTR[:ro] or CTR)")...)
	fs = append(fs, listFlag("mount", nil, "attach a filesystem mount to the container (type=bind|volume|tmpfs,...)")...)
	fs = append(fs, listFlag("tmpfs", nil, "mount a tmpfs directory (PATH[:OPTIONS])")...)
	fs = append(fs, listFlag("volumes-from", nil, "mount volumes from the specified container(s) (CONTAINER[:ro|rw])")...)
	fs = append(fs, listFlag("security-opt", nil, "security options (seccomp=unconfined|PROFILE.json, no-new-privileges, ...)")...)
	fs = append(fs, deviceFlags()...)
	fs = append(fs,
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep STDIN open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.BoolFlag{Name: "rm", Usage: "remove the container when it exits"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run container in background and print container ID"},
		&cli.StringFlag{Name: "detach-keys", Usage: "override the key sequence for detaching a container"},
		&cli.StringFlag{Name: "restart", Value: "no", Usage: "restart policy: no, on-failure[:max-retries], always, unless-stopped"},
		&cli.BoolFlag{Name: "read-only", Usage: "mount the container's root filesystem as read only"},
		&cli.BoolFlag{Name: "init", Usage: "run an init inside the container that forwards signals and reaps processes"},
		&cli.StringFlag{Name: "stop-signal", Usage: "signal to stop the container"},
		// The default shown is stop's; the record keeps "not given" (IsSet)
		// so `stop -t` and a later default still apply as docker's.
		&cli.IntFlag{Name: "stop-timeout", Value: container.DefaultStopTimeout, Usage: "timeout (in seconds) to stop a container; -1 waits for ever"},
		&cli.StringFlag{Name: "name", Usage: "assign a name to the container"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "username or UID (format: <name|uid>[:<group|gid>])"},
		&cli.StringFlag{Name: "entrypoint", Usage: "overwrite the default ENTRYPOINT of the image"},
		&cli.StringFlag{Name: "hostname", Aliases: []string{"h"}, Usage: "container host name"},
		&cli.StringFlag{Name: "pull", Value: "missing", Usage: `pull image before running ("always", "missing", "never")`},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the pull output"},
		&cli.BoolFlag{Name: "sig-proxy", Value: true, Usage: "proxy received signals to the process"},
		&cli.BoolFlag{Name: "disable-content-trust", Value: true, Usage: "skip image verification (always)"},
		&cli.BoolFlag{Name: "help", Usage: "show help"},
	)
	fs = append(fs, runResourceFlags()...)
	fs = append(fs, securityFlags()...)
	return append(fs, networkFlags()...)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "create and run a new container from an image",
		ArgsUsage: "IMAGE [COMMAND] [ARG...]",
		Flags:     runFlags(),
		HideHelp:  true, // -h is --hostname, as docker's
		Action:    runAction,
	}
}

func runAction(c *cli.Context) error {
	if c.Bool("help") {
		return cli.ShowCommandHelp(c, c.Command.Name)
	}
	timeline.Mark("args")
	fail := func(err error) error { return &ExitError{Code: 125, Err: fmt.Errorf("run: %w", err)} }
	g, o, keys, err := checkRun(c)
	if err != nil {
		if ee := (*ExitError)(nil); errors.As(err, &ee) {
			return err // its own status (the input device is not a TTY: 1)
		}
		return fail(err)
	}
	images, release, err := keepImages(g) // until the record names the image
	if err != nil {
		return fail(err)
	}
	// Caught from here on, a signal reaches the container once it runs
	// instead of killing us while the container starts.
	var sigs chan os.Signal
	if c.Bool("sig-proxy") && !o.Detach {
		sigs = attach.NotifyProxied()
	}
	// Every container gets a monitor; a foreground run is its first
	// client, so no output is lost, and killing us leaves it running. It
	// is spawned first, its start-up overlapping our image lookup and
	// create, and starts the container on our Go once the record exists.
	id, err := state.NewID()
	if err != nil {
		release()
		return fail(err)
	}
	conn, err := g.Containers().SpawnMonitorEarly(id, o.Tty, o.Interactive)
	if err != nil {
		release()
		return fail(err)
	}
	err = createRun(c, g, images, id, o)
	release()
	if err != nil {
		container.Abandon(conn) // the monitor exits, removing what it made
		return fail(err)
	}
	if err := container.Go(conn); err != nil {
		conn.Close()
		// The monitor died before the start: the container goes, and
		// with --rm its anonymous volumes too, as its monitor would have.
		if ct, rmErr := g.Containers().Remove(id, true); rmErr == nil && o.Remove {
			g.Containers().RemoveAnonymousVolumes(ct)
		}
		return fail(err)
	}
	s := &attach.Session{
		Conn: conn, Stdin: o.Interactive, Tty: o.Tty, DetachKeys: keys,
		SigProxy: c.Bool("sig-proxy"), Detach: o.Detach, Signals: sigs,
	}
	if o.Detach {
		s.OnStarted = func(int) { fmt.Println(id) }
	}
	code, err := s.Run()
	if o.Detach && err != nil && errors.Is(err, attach.ErrNoExit) {
		err = errors.New("the container's monitor exited before starting it")
	}
	return exitWith(g, id, code, err)
}

// createRun finds (or pulls) run's image and creates container id.
func createRun(c *cli.Context, g *Globals, s *store.Store, id string, o spec.Options) error {
	img, err := imageFor(c.Context, g, s, o.ImageRef, c.String("pull"), c.Bool("quiet"))
	if err != nil {
		return err
	}
	timeline.Mark("image")
	if _, err := g.Containers().CreateAs(id, *img, o); err != nil {
		return err
	}
	timeline.Mark("created")
	return nil
}

// unsupportedRunFlag reports whether name (long or a short alias) is one of
// docker run's flags that skiff does not support yet, and its long name.
func unsupportedRunFlag(name string) (string, bool) {
	for _, u := range unsupportedRunFlags {
		if u.name == name {
			return u.name, true
		}
		for _, a := range u.aliases {
			if a == name {
				return u.name, true
			}
		}
	}
	return "", false
}

// checkRun is what run and create share before the image: docker run's
// flags checked and turned into options, nothing created or locked yet.
func checkRun(c *cli.Context) (g *Globals, o spec.Options, detachKeys []byte, err error) {
	verb := c.Command.Name
	if err = checkUnsupported(c); err != nil {
		return
	}
	if c.NArg() < 1 {
		err = fmt.Errorf(`"%s" requires at least 1 argument: skiff %s [OPTIONS] IMAGE [COMMAND] [ARG...]`, verb, verb)
		return
	}
	if g, err = globals(c); err != nil {
		return
	}
	if o, err = runOptions(c, g); err != nil {
		return
	}
	if detachKeys, err = parseDetachKeys(c.String("detach-keys")); err != nil {
		return
	}
	if err = checkInputTTY(verb, o); err != nil {
		return
	}
	if o.Network == spec.NetworkBridge {
		err = g.ensureBridge()
	}
	return
}

// checkUnsupported refuses the values of supported flags that skiff does not
// honour yet.
func checkUnsupported(c *cli.Context) error {
	if !c.Bool("disable-content-trust") {
		return errors.New("--disable-content-trust=false is not supported yet")
	}
	return nil
}

// checkInputTTY is docker run's refusal of -it when stdin is not a
// terminal (a pipe, a file): the raw terminal mode cannot be set and the
// container would get a tty fed by a pipe. A user error, so exit 1 as
// docker's, and made before anything is pulled or created.
func checkInputTTY(verb string, o spec.Options) error {
	if verb != "run" || !o.Interactive || !o.Tty || o.Detach || term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return &ExitError{Code: 1, Err: errInputNotTTY}
}

// errInputNotTTY is docker's sentence for -it without a terminal (docker
// 29.4 and later say "cannot attach stdin to a TTY-enabled container
// because stdin is not a terminal"; the older one is what scripts know).
var errInputNotTTY = errors.New("the input device is not a TTY")

func runOptions(c *cli.Context, g *Globals) (spec.Options, error) {
	o := spec.Options{
		ImageRef: c.Args().First(), Args: c.Args().Tail(),
		Name: c.String("name"), Env: listOf(c, "env"),
		Workdir: c.String("workdir"), User: c.String("user"), Hostname: c.String("hostname"),
		Interactive: c.Bool("interactive"), Tty: c.Bool("tty"), Remove: c.Bool("rm"),
		Detach: c.Bool("detach"), Init: c.Bool("init"), StopSignal: c.String("stop-signal"),
	}
	var err error
	if o.Restart, err = parseRestart(c.String("restart")); err != nil {
		return o, err
	}
	if o.Remove && o.Restart.Name != "no" {
		return o, errors.New("Conflicting options: --restart and --rm")
	}
	if err := checkEnv(o.Env); err != nil {
		return o, err
	}
	// Refused here, not at stop: a signal stop cannot send would leave the
	// container unstoppable but by kill.
	if o.StopSignal != "" {
		if _, err := container.ParseSignal(o.StopSignal); err != nil {
			return o, err
		}
	}
	if c.IsSet("stop-timeout") {
		// -1 is docker's "wait for ever" (stop -t -1); any other negative
		// is a typo that would mean the same, so it is refused.
		t := c.Int("stop-timeout")
		if t < -1 {
			return o, fmt.Errorf("invalid --stop-timeout %d: use -1 to wait for ever, or 0 or more seconds", t)
		}
		o.StopTimeout = &t
	}
	for _, l := range listOf(c, "label") {
		k, v, _ := strings.Cut(l, "=")
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = v
	}
	if c.IsSet("entrypoint") {
		ep := c.String("entrypoint")
		o.Entrypoint = &ep
	}
	if err := mountOptions(c, &o); err != nil {
		return o, err
	}
	if err := limitOptions(c, &o); err != nil {
		return o, err
	}
	if o.Security, o.Host.SecurityOpt, err = spec.ParseSecurityOpts(listOf(c, "security-opt"), os.ReadFile); err != nil {
		return o, err
	}
	o.Host.SystemPathsUnconfined = o.Security.SystemPathsUnconfined
	if err := privilegeOptions(c, &o); err != nil {
		return o, err
	}
	if err := deviceOptions(c, &o); err != nil {
		return o, err
	}
	o.Default = g.DNS
	if err := networkOptions(c, &o); err != nil {
		return o, err
	}
	for _, name := range listOf(c, "env-file") {
		f, err := os.Open(name)
		if err != nil {
			return o, fmt.Errorf("open env file: %w", err)
		}
		vals, err := spec.ParseEnvFile(f, name)
		f.Close()
		if err != nil {
			return o, err
		}
		o.EnvFile = append(o.EnvFile, vals...)
	}
	return o, nil
}

// mountOptions reads the mount flags (spec.ParseMounts); a z or Z, which
// asks for an SELinux relabel skiff does not do, gets one note.
func mountOptions(c *cli.Context, o *spec.Options) error {
	h, relabel, err := spec.ParseMounts(spec.MountFlags{
		Volumes: listOf(c, "volume"), Mounts: listOf(c, "mount"), Tmpfs: listOf(c, "tmpfs"),
		VolumesFrom: listOf(c, "volumes-from"), ReadOnly: c.Bool("read-only"),
	})
	if err != nil {
		return err
	}
	if relabel {
		fmt.Fprintln(os.Stderr, "skiff: note: the z and Z volume options (SELinux relabeling) are ignored")
	}
	o.Host = h
	return nil
}

// checkEnv refuses a -e with no name ("=x"), in docker's flag-error words;
// a name alone takes our value and is checked when it is read.
func checkEnv(env []string) error {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == "" {
			return fmt.Errorf(`invalid argument %q for "-e, --env" flag: invalid environment variable: %s`, e, e)
		}
	}
	return nil
}

// parseRestart reads docker's --restart value, with the CLI's and the
// daemon's checks and words: a count is a number, only on-failure takes
// one (0 counts as none), and it is never negative.
func parseRestart(v string) (state.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(v, ":")
	if hasCount && name == "" {
		return state.RestartPolicy{}, errors.New("invalid restart policy format: no policy provided before colon")
	}
	p := state.RestartPolicy{Name: name}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return p, errors.New("invalid restart policy format: maximum retry count must be an integer")
		}
		p.MaximumRetryCount = n
	}
	switch name {
	case "", "no", "always", "unless-stopped":
		if p.MaximumRetryCount != 0 {
			msg := "invalid restart policy: maximum retry count can only be used with 'on-failure'"
			if p.MaximumRetryCount < 0 {
				msg += " and cannot be negative"
			}
			return p, errors.New(msg)
		}
		if name == "" {
			p.Name = "no"
		}
	case "on-failure":
		if p.MaximumRetryCount < 0 {
			return p, errors.New("invalid restart policy: maximum retry count cannot be negative")
		}
	default:
		return p, fmt.Errorf("invalid restart policy: unknown policy '%s'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", name)
	}
	return p, nil
}

// imageFor resolves ref in the store, pulling it as docker run does when
// it is missing (or always / never with --pull).
func imageFor(ctx context.Context, g *Globals, s *store.Store, ref, policy string, quiet bool) (*spec.Image, error) {
	if policy != "missing" && policy != "always" && policy != "never" {
		return nil, fmt.Errorf(`invalid pull option: %q: must be one of "always", "missing" or "never"`, policy)
	}
	canon, err := registry.Normalize(ref)
	if err != nil && !looksLikeID(ref) {
		return nil, err
	}
	// By name first, then by image id or id prefix, as docker run does.
	img, err := findImage(s, ref)
	missing := errors.Is(err, store.ErrImageNotFound)
	if err != nil && !missing {
		return nil, err
	}
	switch {
	case missing && canon == "":
		return nil, err // an id nothing has: docker's "No such image"
	case missing && policy == "never":
		return nil, fmt.Errorf("image %s not found locally and --pull=never", registry.ShortName(canon))
	case missing || policy == "always" && canon != "":
		if missing && !quiet {
			fmt.Fprintf(os.Stderr, "Unable to find image '%s' locally\n", registry.ShortName(canon))
		}
		if ctx == nil {
			ctx = context.Background()
		}
		img, err = registry.Pull(ctx, s, canon, registry.PullOptions{Insecure: g.InsecureRegistries, Quiet: quiet, Out: os.Stderr, Rootless: userns.Rootless()})
		if err != nil {
			return nil, err
		}
	}
	dirs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		dirs[i] = s.LayerDir(l)
	}
	return &spec.Image{ID: img.ID, LayerDirs: dirs, Config: img.Config.Config}, nil
}

// looksLikeID reports whether ref can only be an image id ("sha256:<hex>"
// or a bare 64-hex id), which is no valid reference to pull.
func looksLikeID(ref string) bool {
	return strings.HasPrefix(ref, "sha256:") || registry.IsIdentifier(ref)
}
