package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(inspectCommand()) }

// inspectCommand is the top-level `inspect`: each name is tried as a
// container, then as an image, as docker does (--type picks one).
func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show low-level information on containers and images as JSON",
		ArgsUsage: "NAME|ID [NAME|ID...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{.State.Status}}'"},
			&cli.StringFlag{Name: "type", Usage: "only inspect objects of this type: container or image"},
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "accepted for docker's scripts; sizes are not shown"},
		},
		UseShortOptionHandling: true,
		Action:                 func(c *cli.Context) error { return inspectAction(c, "inspect", "") },
	}
}

// containerInspectCommand is `container inspect`.
func containerInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show one or more containers as JSON",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{.State.Status}}'"},
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "accepted for docker's scripts; sizes are not shown"},
		},
		UseShortOptionHandling: true,
		Action:                 func(c *cli.Context) error { return inspectAction(c, "container inspect", "container") },
	}
}

// inspectAction prints what it finds (a JSON array, or the template per
// object), then one docker error line per name it did not find, exit 1.
func inspectAction(c *cli.Context, verb, kind string) error {
	args := c.Args().Slice()
	if kind == "" {
		kind = c.String("type") // --type may follow the names
	}
	switch kind {
	case "", "container", "image":
	default:
		return &ExitError{Code: 1, Err: fmt.Errorf("%q is not a valid value for --type", kind)}
	}
	if len(args) == 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%q requires at least 1 argument: skiff %s [OPTIONS] NAME [NAME...]", verb, verb)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	var tmpl *template.Template
	if f := c.String("format"); f != "" {
		if tmpl, err = goTemplate(f); err != nil {
			return &ExitError{Code: 1, Err: err}
		}
	}
	docs, missing, err := inspectObjects(g, args, kind)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	if err := printDocs(os.Stdout, tmpl, docs); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	for _, m := range missing {
		printError(errors.New(m))
	}
	if len(missing) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// inspectObjects resolves each name in order, returning docker's error
// line for each it cannot; the image store is opened only when a name is
// not a container.
func inspectObjects(g *Globals, names []string, kind string) (docs []any, missing []string, err error) {
	var s *store.Store
	for _, n := range names {
		if kind != "image" {
			ct, err := run.Lookup(g.Paths.Root, g.Paths.RunRoot, n)
			if err == nil {
				docs = append(docs, toContainerInspect(g, ct))
				continue
			}
			var amb *state.AmbiguousError
			if errors.As(err, &amb) {
				missing = append(missing, "Error response from daemon: "+amb.Error())
				continue
			}
			if !errors.Is(err, state.ErrNotFound) {
				return nil, nil, err
			}
			if kind == "container" {
				missing = append(missing, "No such container: "+n)
				continue
			}
		}
		if s == nil {
			if s, err = store.Open(g.Paths.Root); err != nil {
				return nil, nil, err
			}
		}
		img, err := findImage(s, n)
		switch {
		case err == nil:
			docs = append(docs, toInspect(s, img))
		case !errors.Is(err, store.ErrImageNotFound):
			return nil, nil, err
		case kind == "image":
			missing = append(missing, "No such image: "+n)
		default:
			missing = append(missing, "No such object: "+n)
		}
	}
	return docs, missing, nil
}

func printDocs(w io.Writer, tmpl *template.Template, docs []any) error {
	if tmpl != nil {
		for _, d := range docs {
			if err := execLine(w, tmpl, d); err != nil {
				return err
			}
		}
		return nil
	}
	if docs == nil {
		docs = []any{}
	}
	b, err := json.MarshalIndent(docs, "", "    ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// containerInspect is docker's container inspect document: key names and
// zero values as docker prints them, so scripts' templates keep working.
type containerInspect struct {
	Id              string
	Created         string
	Path            string
	Args            []string
	State           containerState
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	HostConfig      hostConfig
	Mounts          []any
	Config          containerConfig
}

type containerState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
}

type hostConfig struct {
	AutoRemove    bool
	RestartPolicy state.RestartPolicy
	Init          *bool
	LogConfig     struct {
		Type   string
		Config map[string]string
	}
}

type containerConfig struct {
	Hostname     string
	Domainname   string
	User         string
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool
	Env          []string
	Cmd          []string
	Image        string
	Volumes      map[string]struct{}
	WorkingDir   string
	Entrypoint   []string
	OnBuild      []string
	Labels       map[string]string
	StopSignal   string `json:",omitempty"`
	StopTimeout  *int   `json:",omitempty"`
}

// dockerTime is docker's rendering of a time: RFC3339Nano in UTC, and
// "0001-01-01T00:00:00Z" for never.
func dockerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func toContainerInspect(g *Globals, ct *state.Container) containerInspect {
	cfg := ct.Config
	argv := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	d := containerInspect{
		Id: ct.ID, Created: dockerTime(ct.Created), Args: []string{},
		Image: ct.ImageID, LogPath: state.LogPath(g.Paths.Root, ct.ID), Name: "/" + ct.Name,
		RestartCount: ct.RestartCount, Driver: "overlay", Platform: "linux", Mounts: []any{},
		State: containerState{
			Status:  string(ct.Status),
			Running: ct.Status == state.Running || ct.Status == state.Restarting || ct.Status == state.Paused,
			Paused:  ct.Status == state.Paused, Restarting: ct.Status == state.Restarting,
			ExitCode: ct.ExitCode, StartedAt: dockerTime(ct.StartedAt), FinishedAt: dockerTime(ct.FinishedAt),
		},
		Config: containerConfig{
			Hostname: cfg.Hostname, User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin,
			AttachStdin: cfg.AttachStdin, AttachStdout: cfg.AttachStdout, AttachStderr: cfg.AttachStderr,
			Env: cfg.Env, Cmd: cfg.Cmd, Image: ct.Image, WorkingDir: cfg.WorkingDir,
			Entrypoint: cfg.Entrypoint, Labels: cfg.Labels, StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout,
		},
	}
	if len(argv) > 0 {
		d.Path, d.Args = argv[0], append(d.Args, argv[1:]...)
	}
	if d.State.Running {
		d.State.Pid = ct.Pid
	}
	if dir, err := state.Dir(g.Paths.Root, ct.ID); err == nil {
		d.ResolvConfPath, d.HostnamePath, d.HostsPath = dir+"/resolv.conf", dir+"/hostname", dir+"/hosts"
	}
	if d.Config.Labels == nil {
		d.Config.Labels = map[string]string{}
	}
	d.HostConfig.AutoRemove = cfg.AutoRemove
	d.HostConfig.RestartPolicy = cfg.RestartPolicy
	if d.HostConfig.RestartPolicy.Name == "" {
		d.HostConfig.RestartPolicy.Name = "no"
	}
	if cfg.Init {
		d.HostConfig.Init = &cfg.Init
	}
	d.HostConfig.LogConfig.Type = "json-file"
	d.HostConfig.LogConfig.Config = map[string]string{}
	return d
}
