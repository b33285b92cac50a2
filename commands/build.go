package commands

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/store"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(buildCommand) }

func buildCommand() *cli.Command {
	fs := []cli.Flag{}
	fs = append(fs, listFlag("tag", []string{"t"}, `name and optionally a tag in the "name:tag" format`)...)
	fs = append(fs, listFlag("build-arg", nil, "set build-time variables")...)
	fs = append(fs, listFlag("label", nil, "set metadata for an image")...)
	fs = append(fs, listFlag("output", []string{"o"}, `output destination (format: "type=local,dest=path", "type=tar,dest=file"; "-": a tar on stdout)`)...)
	fs = append(fs, listFlag("secret", nil, `secret to expose to the build (format: "id=mysecret[,src=/local/secret]" or "id=mysecret,env=ENVVAR")`)...)
	fs = append(fs,
		&cli.StringFlag{Name: "file", Aliases: []string{"f"}, Usage: `name of the Dockerfile (default: "PATH/Dockerfile"; "-": stdin)`},
		&cli.StringFlag{Name: "target", Usage: "set the target build stage to build"},
		&cli.BoolFlag{Name: "no-cache", Usage: "do not use cache when building the image"},
		&cli.BoolFlag{Name: "pull", Usage: "always attempt to pull a newer version of the image"},
		&cli.StringFlag{Name: "network", Value: "default", Usage: "set the networking mode for the RUN instructions during build (default, none: loopback only; host)"},
		&cli.StringFlag{Name: "iidfile", Usage: "write the image ID to the file"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "suppress the build output and print image ID on success"},
		&cli.StringFlag{Name: "progress", Value: "auto", Usage: "set type of progress output (auto, plain, tty, quiet)"},
		&cli.StringFlag{Name: "platform", Usage: "set platform for the build (this host's only)"},
		&cli.BoolFlag{Name: "rm", Value: true, Usage: "remove intermediate containers after a successful build (always)"},
		&cli.BoolFlag{Name: "force-rm", Usage: "always remove intermediate containers (always)"},
	)
	return &cli.Command{
		Name:      "build",
		Usage:     "build an image from a Dockerfile",
		ArgsUsage: "PATH | -",
		Flags:     fs,
		Action:    runBuild,
	}
}

// buildInput is what a build reads: the Dockerfile and the context.
type buildInput struct {
	dockerfile []byte
	name       string // the Dockerfile's name for errors
	dir        string // the context directory; "" for none
	dfPath     string // the Dockerfile's path, for its .dockerignore
	cleanup    func()
}

func runBuild(c *cli.Context) error {
	fail := func(err error) error { return &ExitError{1, err} }
	if c.NArg() != 1 {
		return fail(fmt.Errorf(`"build" requires exactly 1 argument: skiff build [OPTIONS] PATH | -`))
	}
	if err := checkBuildFlags(c); err != nil {
		return fail(err)
	}
	names, err := buildNames(listOf(c, "tag"))
	if err != nil {
		return fail(err)
	}
	output, err := buildOutput(listOf(c, "output"))
	if err != nil {
		return fail(err)
	}
	// A tar on stdout takes stdout: the progress goes to stderr.
	progress := c.App.Writer
	if output != nil && output.Type == "tar" && output.Dest == "-" {
		progress = c.App.ErrWriter
	}
	g, err := globals(c)
	if err != nil {
		return fail(err)
	}
	s, release, err := keepImages(g) // no rmi of what the build stands on
	if err != nil {
		return fail(err)
	}
	defer release()
	cs := build.BuildContainers(g.Paths.Root, g.Paths.RunRoot) // swept of dead builds by globals
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGINT, unix.SIGTERM)
	defer stop()
	in, err := readBuildInput(ctx, c, build.StdinTmp(cs))
	if err != nil {
		return fail(err)
	}
	defer in.cleanup()
	args := buildArgs(listOf(c, "build-arg"))
	plan, err := build.Parse(in.dockerfile, in.name, build.ParseOptions{BuildArgs: args, Target: c.String("target")})
	if err != nil {
		return fail(err)
	}
	epoch, err := sourceDateEpoch(args)
	if err != nil {
		return fail(err)
	}
	secrets, err := buildSecrets(listOf(c, "secret"))
	if err != nil {
		return fail(err)
	}
	quiet := c.Bool("quiet") || c.String("progress") == "quiet"
	o := build.ExecOptions{
		Images: s, Containers: cs, Labels: keyValueMap(listOf(c, "label")),
		NoCache: c.Bool("no-cache"), Out: progress, Epoch: epoch, Network: buildNetwork(c.String("network")),
		Resolve: buildResolver(g, s, c.Bool("pull"), quiet, progress),
		Secrets: secrets,
	}
	if quiet {
		o.Out = io.Discard
	}
	if o.Network == spec.NetworkBridge {
		if err := g.ensureBridge(); err != nil {
			return fail(err)
		}
	}
	if in.dir != "" {
		if o.Context, err = build.OpenContext(in.dir, in.dfPath); err != nil {
			return fail(err)
		}
		defer o.Context.Close()
		// File sums remembered by stat: an all-cache rebuild reads no
		// file of the context again.
		sumsPath := filepath.Join(g.Paths.Root, "buildcache", "context-sums")
		o.Context.Sums = build.LoadSumCache(sumsPath)
		defer func() {
			if os.MkdirAll(filepath.Dir(sumsPath), 0o700) == nil {
				o.Context.Sums.Save(sumsPath)
			}
		}()
	}
	img, err := build.Execute(ctx, plan, o)
	if err != nil {
		if ctx.Err() != nil {
			return fail(errors.New("build interrupted: its containers are removed, nothing is tagged"))
		}
		return fail(err)
	}
	if output != nil {
		if err := exportBuild(c, s, img, output); err != nil {
			return fail(err)
		}
	}
	return finishBuild(c, s, img.ID, names, quiet, progress)
}

// finishBuild tags the built image and says so as docker does.
func finishBuild(c *cli.Context, s *store.Store, id string, names []string, quiet bool, out io.Writer) error {
	for _, n := range names {
		if err := s.Tag(id, n); err != nil {
			return &ExitError{1, err}
		}
	}
	if f := c.String("iidfile"); f != "" {
		if err := os.WriteFile(f, []byte(id), 0o644); err != nil {
			return &ExitError{1, fmt.Errorf("write image ID to %s: %w", f, err)}
		}
	}
	if quiet {
		fmt.Fprintln(out, id)
		return nil
	}
	fmt.Fprintf(out, "Successfully built %s\n", strings.TrimPrefix(id, "sha256:")[:12])
	for _, n := range names {
		fmt.Fprintf(out, "Successfully tagged %s\n", registry.ShortName(n))
	}
	return nil
}

// buildOutput is the --output value, as docker's CLI parses it: CSV
// fields "type=...,dest=...", or a bare destination: "-" a tar on
// stdout, anything else a local directory. nil: no --output.
func buildOutput(vals []string) (*build.Output, error) {
	switch len(vals) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, errors.New("currently only single output is supported")
	}
	v := vals[0]
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return nil, fmt.Errorf("invalid output %q: %w", v, err)
	}
	if len(fields) == 1 && fields[0] == v && !strings.HasPrefix(v, "type=") {
		if v == "-" {
			return &build.Output{Type: "tar", Dest: "-"}, nil
		}
		return &build.Output{Type: "local", Dest: v}, nil
	}
	out := &build.Output{}
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("invalid value %s", f)
		}
		switch strings.ToLower(k) {
		case "type":
			out.Type = val
		case "dest":
			out.Dest = val
		default:
			return nil, fmt.Errorf("output: unknown attribute %q for type %s", k, out.Type)
		}
	}
	switch out.Type {
	case "":
		return nil, errors.New("type is required for output")
	case "local":
		if out.Dest == "" {
			return nil, errors.New("output directory is required for local exporter")
		}
	case "tar":
		if out.Dest == "" {
			return nil, errors.New("output file is required for tar exporter. refusing to write to console")
		}
	default:
		return nil, fmt.Errorf("output type %s is not supported yet: use local or tar", out.Type)
	}
	return out, nil
}

// exportBuild writes the built image's filesystem where --output says.
func exportBuild(c *cli.Context, s *store.Store, img *store.Image, out *build.Output) error {
	if out.Type == "local" {
		return build.ExportLocal(out.Dest, s, img)
	}
	if out.Dest != "-" {
		return writeToFile("export", out.Dest, func(w io.Writer) error { return build.WriteImageTar(w, s, img) })
	}
	if f, ok := c.App.Writer.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return errors.New("output file is required for tar exporter. refusing to write to console")
	}
	return build.WriteImageTar(c.App.Writer, s, img)
}

// buildNetwork is build's --network as the executor's mode: "default"
// is the bridge, as docker's RUN gets; a rootless build's default (and
// "bridge" by name) is tapnet, as its containers'.
func buildNetwork(flag string) string {
	switch {
	case userns.Rootless() && (flag == "default" || flag == spec.NetworkBridge):
		return spec.NetworkTapnet
	case flag == "default":
		return spec.NetworkBridge
	}
	return flag
}

// checkBuildFlags refuses the values skiff cannot honour.
func checkBuildFlags(c *cli.Context) error {
	switch p := c.String("progress"); p {
	case "auto", "plain", "tty", "quiet":
	default:
		return fmt.Errorf("invalid progress mode %q: use auto, plain, tty or quiet", p)
	}
	switch n := c.String("network"); n {
	case "default", "none", "bridge", "host":
	default:
		return fmt.Errorf("network %s not found: use default, none or host", n)
	}
	if p := c.String("platform"); p != "" {
		want := "linux/" + runtime.GOARCH
		if !strings.EqualFold(p, want) && !strings.EqualFold(p, "linux") {
			return fmt.Errorf("--platform %s: only this host's platform (%s) can be built", p, want)
		}
	}
	return nil
}

// buildNames are the -t names, canonical.
func buildNames(tags []string) ([]string, error) {
	var names []string
	for _, t := range tags {
		n, err := targetNames(t)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"-t, --tag\" flag: %w", t, err)
		}
		names = append(names, n...)
	}
	return names, nil
}

// buildArgs are the --build-arg values: K=V, or K alone for the
// environment's value.
func buildArgs(vals []string) map[string]*string {
	m := map[string]*string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if ok {
			m[k] = &val
		} else {
			m[k] = nil
		}
	}
	return m
}

// sourceDateEpoch is SOURCE_DATE_EPOCH from --build-arg, else from the
// environment (as buildx passes it); nil when unset or empty.
func sourceDateEpoch(args map[string]*string) (*time.Time, error) {
	v, ok := os.LookupEnv("SOURCE_DATE_EPOCH")
	if a, given := args["SOURCE_DATE_EPOCH"]; given && a != nil {
		v, ok = *a, true
	}
	if !ok || v == "" {
		return nil, nil
	}
	t, err := build.ParseSourceDateEpoch(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func keyValueMap(vals []string) map[string]string {
	if len(vals) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, v := range vals {
		k, val, _ := strings.Cut(v, "=")
		m[k] = val
	}
	return m
}

// readBuildInput reads the Dockerfile and finds the context: a directory,
// stdin or an http(s) URL (a tar, extracted under tmp, or a bare
// Dockerfile); -f - reads the Dockerfile from stdin.
func readBuildInput(ctx context.Context, c *cli.Context, tmp string) (*buildInput, error) {
	in := &buildInput{cleanup: func() {}, name: "Dockerfile"}
	arg, file := c.Args().First(), c.String("file")
	if build.IsGitURL(arg) {
		return nil, fmt.Errorf("unable to prepare context: a git repository as the build context is not supported yet: %s", arg)
	}
	if arg == "-" || build.IsURL(arg) {
		if file == "-" {
			return nil, errors.New("invalid argument: can't use stdin for both build context and dockerfile")
		}
		dir, df, cleanup, err := remoteContext(ctx, arg, tmp)
		if err != nil {
			return nil, err
		}
		in.cleanup, in.dir = cleanup, dir
		if dir == "" {
			in.dockerfile = df
			return in, nil
		}
		if file == "" {
			file = "Dockerfile"
		}
		in.dfPath = filepath.Join(dir, file)
	} else {
		st, err := os.Stat(arg)
		if err != nil {
			return nil, fmt.Errorf("unable to prepare context: path %q not found", arg)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("unable to prepare context: context must be a directory: %s", arg)
		}
		in.dir = arg
		switch file {
		case "-":
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				return nil, fmt.Errorf("read the Dockerfile from stdin: %w", err)
			}
			in.dockerfile = b
			return in, nil
		case "":
			file = filepath.Join(arg, "Dockerfile")
		}
		in.dfPath = file
	}
	b, err := os.ReadFile(in.dfPath)
	if err != nil {
		in.cleanup()
		return nil, fmt.Errorf("unable to prepare context: unable to evaluate symlinks in Dockerfile path: %w", err)
	}
	in.dockerfile, in.name = b, filepath.Base(in.dfPath)
	return in, nil
}

// remoteContext reads a build context from stdin ("-") or a URL.
func remoteContext(ctx context.Context, arg, tmp string) (dir string, dockerfile []byte, cleanup func(), err error) {
	if arg == "-" {
		return build.StdinContext(os.Stdin, tmp)
	}
	resp, err := build.Get(ctx, arg)
	if err != nil {
		return "", nil, nil, fmt.Errorf("unable to prepare context: unable to download remote context %s: %w", arg, err)
	}
	defer resp.Body.Close()
	return build.StdinContext(resp.Body, tmp)
}

// buildResolver finds a FROM or COPY --from image as run does: in the
// store, else pulled (always, with --pull).
// The pull's progress is part of the build's output, as docker's.
func buildResolver(g *Globals, s *store.Store, always, quiet bool, out io.Writer) func(context.Context, string) (*store.Image, error) {
	return func(ctx context.Context, ref string) (*store.Image, error) {
		img, err := findImage(s, ref)
		missing := errors.Is(err, store.ErrImageNotFound)
		if err != nil && !missing {
			return nil, err
		}
		if !missing && !always {
			return img, nil
		}
		canon, nerr := registry.Normalize(ref)
		if nerr != nil {
			if missing {
				return nil, err
			}
			return img, nil
		}
		return registry.Pull(ctx, s, canon, registry.PullOptions{Insecure: g.InsecureRegistries, Quiet: quiet, Out: out, Rootless: userns.Rootless()})
	}
}
