package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(inspectCommand) }

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
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "display total file sizes if the type is container"},
		},
		Action: func(c *cli.Context) error { return inspectAction(c, "inspect", "") },
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
			&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "display total file sizes"},
		},
		Action: func(c *cli.Context) error { return inspectAction(c, "container inspect", "container") },
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
	tmpl, err := formatTemplate(c)
	if err != nil {
		return err
	}
	docs, missing, err := inspectObjects(g, args, kind, c.Bool("size"))
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
func inspectObjects(g *Globals, names []string, kind string, size bool) (docs []any, missing []string, err error) {
	var s *store.Store
	for _, n := range names {
		if kind != "image" {
			ct, err := g.Containers().Lookup(n)
			if err == nil {
				d := toContainerInspect(g, ct)
				if size {
					s, _ = openStoreOnce(g, s) // no store: SizeRootFs is the container's part only
					rw, rootFs := containerSize(g.Paths.Root, s, ct)
					d.SizeRw, d.SizeRootFs = &rw, &rootFs
				}
				docs = append(docs, d)
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
		if s, err = openStoreOnce(g, s); err != nil {
			return nil, nil, err
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

// openStoreOnce opens the image store unless s already is it.
func openStoreOnce(g *Globals, s *store.Store) (*store.Store, error) {
	if s != nil {
		return s, nil
	}
	return store.Open(g.Paths.Root)
}

// inspectEach is `volume inspect` and `network inspect`: each ref's
// document (find's doc) through --format, then one error line for each ref
// find says is missing (its missing error), exit 1 as docker's; find's err
// stops the command.
func inspectEach(c *cli.Context, usage string, find func(g *Globals, ref string) (doc any, missing, err error)) error {
	if c.NArg() == 0 {
		return &ExitError{Code: 1, Err: errors.New(usage)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	tmpl, err := formatTemplate(c)
	if err != nil {
		return err
	}
	var docs []any
	var missing []error
	for _, ref := range c.Args().Slice() {
		doc, miss, err := find(g, ref)
		switch {
		case err != nil:
			return &ExitError{Code: 1, Err: err}
		case miss != nil:
			missing = append(missing, miss)
		default:
			docs = append(docs, doc)
		}
	}
	if err := printDocs(os.Stdout, tmpl, docs); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	for _, m := range missing {
		printError(m)
	}
	if len(missing) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// printDocs prints inspect documents: a JSON array, or each document
// through the --format template as docker's CLI runs it (inspectLine).
func printDocs(w io.Writer, tmpl *template.Template, docs []any) error {
	if tmpl != nil {
		typed, err := tmpl.Clone()
		if err != nil {
			return err
		}
		typed.Option("missingkey=default")
		raw := tmpl.Option("missingkey=error")
		for _, d := range docs {
			if err := inspectLine(w, typed, raw, d); err != nil {
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

// inspectLine runs a --format template on one document as docker's CLI
// does: on the typed document first, where a missing map key prints
// <no value>; if that fails, on the document's JSON decoded into maps,
// where a missing key fails with docker's own message ("map has no entry
// for key "Health"" for {{.State.Health.Status}}).
func inspectLine(w io.Writer, typed, raw *template.Template, doc any) error {
	var b bytes.Buffer
	if err := typed.Execute(&b, doc); err != nil {
		js, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.UseNumber()
		var m any
		if err := dec.Decode(&m); err != nil {
			return err
		}
		b.Reset()
		if err := raw.Execute(&b, m); err != nil {
			return fmt.Errorf("template parsing error: %w", err)
		}
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
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
		RestartCount: ct.RestartCount, Driver: driverName(ct), Platform: "linux", Mounts: toMountPoints(ct.Host),
		State: containerState{
			Status:  string(ct.Status),
			Running: ct.Status == state.Running || ct.Status == state.Restarting || ct.Status == state.Paused,
			Paused:  ct.Status == state.Paused, Restarting: ct.Status == state.Restarting, OOMKilled: ct.OOMKilled,
			ExitCode: ct.ExitCode, StartedAt: dockerTime(ct.StartedAt), FinishedAt: dockerTime(ct.FinishedAt),
		},
		HostConfig:      toHostConfig(cfg, ct.Host),
		GraphDriver:     containerGraphDriver(g.Paths.Root, ct),
		Config:          toContainerConfig(ct),
		NetworkSettings: toNetworkSettings(ct, g.userNetworks()),
	}
	d.HostConfig.Links = hostLinks(ct)
	if len(argv) > 0 {
		d.Path, d.Args = argv[0], append(d.Args, argv[1:]...)
	}
	if d.State.Running {
		d.State.Pid = ct.Pid
	}
	if dir, err := state.Dir(g.Paths.Root, ct.ID); err == nil {
		d.ResolvConfPath, d.HostnamePath, d.HostsPath = dir+"/resolv.conf", dir+"/hostname", dir+"/hosts"
	}
	return d
}

// toContainerConfig is docker's Config of a container: the image's
// configuration merged with run's flags, as the record keeps it.
func toContainerConfig(ct *state.Container) dockerConfig {
	cfg := ct.Config
	c := dockerConfig{
		Hostname: cfg.Hostname, Domainname: cfg.Domainname, User: cfg.User, Tty: cfg.Tty, OpenStdin: cfg.OpenStdin,
		AttachStdin: cfg.AttachStdin, AttachStdout: cfg.AttachStdout, AttachStderr: cfg.AttachStderr,
		// docker's CLI closes stdin after the attached client leaves.
		StdinOnce:    cfg.OpenStdin && cfg.AttachStdin,
		ExposedPorts: cfg.ExposedPorts, Env: cfg.Env, Cmd: cfg.Cmd, Image: ct.Image, Volumes: cfg.Volumes,
		WorkingDir: cfg.WorkingDir, Entrypoint: cfg.Entrypoint, Labels: cfg.Labels,
		StopSignal: cfg.StopSignal, StopTimeout: cfg.StopTimeout,
	}
	if c.Labels == nil {
		c.Labels = map[string]string{} // docker's CLI always sends a map
	}
	return c
}

// toHostConfig is docker's HostConfig of a container: its mount and
// network flags as typed (Binds, Mounts, Tmpfs, VolumesFrom,
// ReadonlyRootfs; NetworkMode, PortBindings, Dns..., ExtraHosts); for the
// flags skiff does not have yet no limits or capabilities, docker's
// default masked and read-only paths and 64 MiB /dev/shm, as skiff's spec.
func toHostConfig(cfg state.Config, host state.Host) hostConfig {
	h := hostConfig{
		LogConfig:     logConfig{Type: "json-file", Config: map[string]string{}},
		NetworkMode:   containerNetworkMode(host),
		PortBindings:  portBindings(host.Ports),
		RestartPolicy: cfg.RestartPolicy,
		AutoRemove:    cfg.AutoRemove,
		CgroupnsMode:  "host", // skiff makes no cgroup namespace
		Dns:           orEmpty(host.DNS), DnsOptions: orEmpty(host.DNSOptions), DnsSearch: orEmpty(host.DNSSearch),
		ExtraHosts: host.ExtraHosts, PublishAllPorts: host.PublishAll,
		IpcMode:           "private",
		ShmSize:           64 << 20,
		BlkioWeightDevice: []any{}, BlkioDeviceReadBps: []any{}, BlkioDeviceWriteBps: []any{},
		BlkioDeviceReadIOps: []any{}, BlkioDeviceWriteIOps: []any{},
		Devices: inspectDevices(host.Security.Devices), DeviceCgroupRules: host.Security.DeviceCgroupRules,
		Ulimits:     []any{},
		MaskedPaths: spec.MaskedPaths, ReadonlyPaths: spec.ReadonlyPaths, SecurityOpt: host.SecurityOpt,
		Binds: host.Binds, Tmpfs: host.Tmpfs, VolumesFrom: host.VolumesFrom, ReadonlyRootfs: host.ReadonlyRootfs,
		Mounts: toMountSpecs(host.Mounts),
	}
	if host.SystemPathsUnconfined {
		h.MaskedPaths, h.ReadonlyPaths = []string{}, []string{}
	}
	if h.RestartPolicy.Name == "" {
		h.RestartPolicy.Name = "no"
	}
	if cfg.Init {
		h.Init = &cfg.Init
	}
	setLimits(&h, host.Limits)
	setSecurity(&h, host.Security)
	return h
}

// containerGraphDriver is docker's GraphDriver of a container: the overlay
// it runs on, lowerdirs top layer first as overlay lists them.
func containerGraphDriver(root string, ct *state.Container) graphDriver {
	d := graphDriver{Name: driverName(ct), Data: map[string]string{}}
	dir, err := state.Dir(root, ct.ID)
	if err != nil {
		return d
	}
	d.Data["LowerDir"] = strings.Join(container.LowerDirs(ct), ":")
	d.Data["MergedDir"] = filepath.Join(dir, "rootfs")
	d.Data["UpperDir"] = filepath.Join(dir, "upper")
	d.Data["WorkDir"] = filepath.Join(dir, "work")
	return d
}

// formatTemplate is an inspect verb's -f/--format template, nil without
// one; a bad template exits 1.
func formatTemplate(c *cli.Context) (*template.Template, error) {
	f := c.String("format")
	if f == "" {
		return nil, nil
	}
	tmpl, err := goTemplate(f)
	if err != nil {
		return nil, &ExitError{Code: 1, Err: err}
	}
	return tmpl, nil
}

// deviceMapping is docker's HostConfig.Devices entry.
type deviceMapping struct{ PathOnHost, PathInContainer, CgroupPermissions string }

// inspectDevices are --device's mappings as docker shows them ([] for none).
func inspectDevices(ms []state.DeviceMapping) []any {
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, deviceMapping{m.PathOnHost, m.PathInContainer, m.CgroupPermissions})
	}
	return out
}

// driverName is docker's Driver of a container: overlay2, or the
// fuse-overlayfs a rootless one was created on.
func driverName(ct *state.Container) string {
	if ct.Driver != "" {
		return ct.Driver
	}
	return graphDriverName
}
