package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/state"
)

// StartError is a failure with docker's exit status for it: 125 skiff (or
// the container's setup) failed, 126 the command cannot be executed, 127
// it was not found.
type StartError struct {
	Code int
	Err  error
}

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Container is one container from creation to removal. Its life is split
// into Create, Start, Wait and Cleanup so that its monitor owns
// Start..Cleanup while the CLI only creates and attaches.
type Container struct {
	State *state.Container
	Dir   string
	Spec  *specs.Spec

	opts Options
	img  Image
	proc *process // set by Start (parent_linux.go)
}

// Stdio are the container's ends of its stdin, stdout and stderr (the
// monitor's pipes; nil: /dev/null); the caller closes its copies once
// Start returns.
type Stdio struct{ In, Out, Err *os.File }

// Pty is the master of the container's terminal after Start with -t, else nil.
func (c *Container) Pty() *os.File {
	if c.proc == nil {
		return nil
	}
	return c.proc.pty
}

// Pid is the container's init pid after Start, else 0.
func (c *Container) Pid() int {
	if c.proc == nil || c.proc.cmd.Process == nil {
		return 0
	}
	return c.proc.cmd.Process.Pid
}

// The spec annotations that carry what the init needs beyond the OCI
// config, so that a monitor can start a created container from its
// directory alone.
const (
	annotLowerdirs = "run.skiff.lowerdirs" // JSON list, bottom layer first
	annotUser      = "run.skiff.user"
)

// Load reopens container id from its directory (record and config.json),
// for its monitor to start it.
func Load(root, runRoot, id string) (*Container, error) {
	rec, err := state.Load(root, id)
	if err != nil {
		return nil, err
	}
	dir, _ := state.Dir(root, id)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortid.Of(id), err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("container %s: config.json is corrupt: %w", shortid.Of(id), err)
	}
	if spec.Process == nil {
		return nil, fmt.Errorf("container %s: config.json has no process", shortid.Of(id))
	}
	var layers []string
	if err := json.Unmarshal([]byte(spec.Annotations[annotLowerdirs]), &layers); err != nil {
		return nil, fmt.Errorf("container %s: config.json: layer list: %w", shortid.Of(id), err)
	}
	o := Options{
		Root: root, RunRoot: runRoot, ImageRef: rec.Image, Name: rec.Name, User: spec.Annotations[annotUser],
		Interactive: rec.Config.OpenStdin, Tty: rec.Config.Tty, Remove: rec.Config.AutoRemove,
		Restart: rec.Config.RestartPolicy, Init: rec.Config.Init,
	}
	return &Container{State: rec, Dir: dir, Spec: &spec, opts: o, img: Image{ID: rec.ImageID, LayerDirs: layers}}, nil
}

// Create makes the container's directory (record, config.json, overlay
// upper/work, rootfs mount point, generated /etc files) and reserves its
// name. Nothing runs yet.
func Create(img Image, o Options) (c *Container, err error) {
	id, err := state.NewID()
	if err != nil {
		return nil, err
	}
	dir, err := state.Dir(o.Root, id)
	if err != nil {
		return nil, err
	}
	state.SweepDebris(o.Root, o.RunRoot)
	// Held until the record is saved: a directory without a record and
	// with a free lock is then known to be debris of a killed create.
	l, err := state.LockContainer(o.RunRoot, id)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("create container: %w", err)
		}
	}
	rec := &state.Container{ID: id, ImageID: img.ID, Image: o.ImageRef, Created: time.Now().UTC(), Status: state.Created}
	defer func() {
		if err != nil {
			state.Delete(o.Root, o.RunRoot, rec)
		}
	}()
	if rec.Name, err = reserveName(o, id); err != nil {
		return nil, err
	}
	c = &Container{State: rec, Dir: dir, opts: o, img: img}
	if err := c.writeConfig(); err != nil {
		return nil, err
	}
	if err := state.Save(o.Root, rec); err != nil {
		return nil, err
	}
	return c, nil
}

func reserveName(o Options, id string) (string, error) {
	if o.Name == "" {
		return state.ReserveRandomName(o.Root, o.RunRoot, id)
	}
	n, err := state.CheckName(o.Name)
	if err != nil {
		return "", err
	}
	return n, state.ReserveName(o.Root, o.RunRoot, n, id)
}

// writeConfig writes the generated /etc files and config.json, and fills
// the record's config summary.
func (c *Container) writeConfig() error {
	id, o := c.State.ID, c.opts
	host := Hostname(id, o)
	files := map[string]string{
		"hostname":    host + "\n",
		"hosts":       HostsFile(host),
		"resolv.conf": hostResolvConf(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("create container: %w", err)
		}
	}
	spec, err := BuildSpec(SpecInput{
		ID: id, Rootfs: filepath.Join(c.Dir, "rootfs"), Image: c.img.Config, Opts: o,
		HostnameFile: filepath.Join(c.Dir, "hostname"), HostsFile: filepath.Join(c.Dir, "hosts"),
		ResolvConfFile: filepath.Join(c.Dir, "resolv.conf"), LookupEnv: os.LookupEnv,
		NoDeviceCgroup: !cgroup.CanRestrictDevices(),
	})
	if err != nil {
		return err
	}
	layers, _ := json.Marshal(c.img.LayerDirs)
	if spec.Annotations == nil {
		spec.Annotations = map[string]string{}
	}
	spec.Annotations[annotLowerdirs] = string(layers)
	spec.Annotations[annotUser] = User(c.img.Config, o)
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return fmt.Errorf("create container: encoding config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "config.json"), b, 0o600); err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	c.Spec = spec
	ep, cmd, _ := Argv(c.img.Config, o)
	c.State.Config = state.Config{
		Image: o.ImageRef, Entrypoint: ep, Cmd: cmd, Env: spec.Process.Env,
		WorkingDir: spec.Process.Cwd, User: User(c.img.Config, o), Hostname: host,
		Tty: o.Tty, OpenStdin: o.Interactive, AutoRemove: o.Remove,
		RestartPolicy: o.Restart, Init: o.Init, StopSignal: stopSignalOf(c.img.Config, o),
		StopTimeout: o.StopTimeout, Labels: labels(c.img.Config, o),
		Volumes: c.img.Config.Volumes, ExposedPorts: c.img.Config.ExposedPorts,
		AttachStdin: o.Interactive && !o.Detach, AttachStdout: !o.Detach, AttachStderr: !o.Detach,
	}
	return nil
}

// hostResolvConf is the host's resolv.conf, copied verbatim. With only
// loopback networking in the container so far no nameserver is reachable
// anyway; once bridges land, loopback resolvers (127.0.0.53) must be
// replaced as docker does.
func hostResolvConf() string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return ""
	}
	return string(b)
}

// initConfig is the message the init gets: the spec plus the overlay.
func (c *Container) initConfig() *InitConfig {
	lower := make([]string, len(c.img.LayerDirs))
	for i, d := range c.img.LayerDirs { // overlay wants the top layer first
		lower[len(lower)-1-i] = d
	}
	return &InitConfig{
		Spec:      c.Spec,
		Init:      c.opts.Init,
		User:      c.userSpec(),
		Lowerdirs: lower,
		Upper:     filepath.Join(c.Dir, "upper"),
		Work:      filepath.Join(c.Dir, "work"),
		Rootfs:    filepath.Join(c.Dir, "rootfs"),
		Rootless:  os.Geteuid() != 0,
	}
}

// userSpec is -u or the image's user; a reloaded container kept it in its spec.
func (c *Container) userSpec() string {
	if u, ok := c.Spec.Annotations[annotUser]; ok {
		return u
	}
	return User(c.img.Config, c.opts)
}

// stopSignalOf is --stop-signal, else the image's STOPSIGNAL.
func stopSignalOf(img v1.Config, o Options) string {
	if o.StopSignal != "" {
		return o.StopSignal
	}
	return img.StopSignal
}

// labels are the image's labels overridden by --label, as docker merges them.
func labels(img v1.Config, o Options) map[string]string {
	if len(img.Labels) == 0 && len(o.Labels) == 0 {
		return nil
	}
	m := make(map[string]string, len(img.Labels)+len(o.Labels))
	for k, v := range img.Labels {
		m[k] = v
	}
	for k, v := range o.Labels {
		m[k] = v
	}
	return m
}

// update changes the record under the container's lock. A record that is
// gone (skiff rm -f won the race) is not recreated.
func (c *Container) update(fn func(*state.Container)) error {
	l, err := state.LockContainer(c.opts.RunRoot, c.State.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	cur, err := state.Load(c.opts.Root, c.State.ID)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	fn(cur)
	c.State = cur
	return state.Save(c.opts.Root, cur)
}
