package container

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/seccomp"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/tapnet"
	"github.com/skiff-dev/skiff/userns"
)

// Container is one container from creation to removal. Its life is split
// into Create, Start, Wait and Cleanup so that its monitor owns
// Start..Cleanup while the CLI only creates and attaches.
type Container struct {
	State *state.Container
	Dir   string
	// spec is config.json, the init's input made from the record at
	// create, undecoded (spec.ReadRaw).
	spec []byte

	store Store
	proc  *run.Process // set by Start (start_linux.go)
	// endpoints are the container's attachments while its process runs:
	// the default bridge's first if it is on it, then its user networks'
	// (network_linux.go); the first is the one its ports are published on.
	endpoints []*network.Endpoint
	devices   *deviceSet        // resolved by initConfig at each start (devices_linux.go)
	dns       *dnsResponder     // on user networks, while the process runs (dns_linux.go)
	fuse      *rootfs.FuseMount // the root's fuse-overlayfs mount, rootless (storage_linux.go)
	// tapnet is the user-mode stack of a tapnet container while its
	// process runs, tapnetPorts what it publishes (tapnet_linux.go).
	tapnet      *tapnet.Stack
	tapnetPorts []state.PortBinding
	// helper is the slirp4netns or pasta process of a container on
	// either while its process runs (helpernet_linux.go).
	helper *netHelper
}

// Pty is the master of the container's terminal after Start with -t, else nil.
func (c *Container) Pty() *os.File {
	if c.proc == nil {
		return nil
	}
	return c.proc.Pty()
}

// Pid is the container's init pid after Start, else 0.
func (c *Container) Pid() int {
	if c.proc == nil {
		return 0
	}
	return c.proc.Pid()
}

// Load reopens container id from its record and config.json, for its
// monitor to start it.
func (s Store) Load(id string) (*Container, error) {
	rec, err := state.Load(s.Root, id)
	if err != nil {
		return nil, err
	}
	dir, _ := state.Dir(s.Root, id)
	sp, err := spec.ReadRaw(dir, id)
	if err != nil {
		return nil, err
	}
	return &Container{State: rec, Dir: dir, spec: sp, store: s}, nil
}

// Create makes the container's directory (record, config.json, overlay
// upper/work, rootfs mount point, generated /etc files) and reserves its
// name. Nothing runs yet.
func (s Store) Create(img spec.Image, o spec.Options) (*Container, error) {
	id, err := state.NewID()
	if err != nil {
		return nil, err
	}
	return s.CreateAs(id, img, o)
}

// CreateAs is Create under an id the caller chose (state.NewID): run spawns
// the container's monitor by that id before the record exists.
func (s Store) CreateAs(id string, img spec.Image, o spec.Options) (c *Container, err error) {
	dir, err := state.Dir(s.Root, id)
	if err != nil {
		return nil, err
	}
	state.SweepDebris(s.Root, s.RunRoot)
	// Held until the record is saved: a directory without a record and
	// with a free lock is then known to be debris of a killed create.
	l, err := state.LockContainer(s.RunRoot, id)
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
	rec := &state.Container{
		ID: id, ImageID: img.ID, Image: o.ImageRef, Created: time.Now().UTC(), Status: state.Created,
		Layers: img.LayerDirs,
	}
	if rec.Driver, err = s.rootlessDriver(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer func() {
		if err != nil {
			state.Delete(s.Root, s.RunRoot, rec)
		}
	}()
	if rec.Name, err = s.reserveName(o, id); err != nil {
		return nil, err
	}
	host, releaseVolumes, err := s.resolveMounts(dir, img, o)
	if err != nil {
		return nil, err
	}
	defer releaseVolumes() // after the record that uses them is saved
	rec.Host = host
	if err := s.recordNetwork(&rec.Host, img.Config, &o); err != nil {
		return nil, err
	}
	if err := s.recordNamespaces(&rec.Host, &o); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			removeAnonymous(s.Root, rec.Host.Mounts)
		}
	}()
	c = &Container{State: rec, Dir: dir, store: s}
	if err := c.writeConfig(img.Config, o); err != nil {
		return nil, err
	}
	if err := state.Save(s.Root, rec); err != nil {
		return nil, err
	}
	return c, nil
}

func (s Store) reserveName(o spec.Options, id string) (string, error) {
	if o.Name == "" {
		return state.ReserveRandomName(s.Root, s.RunRoot, id)
	}
	n, err := state.CheckName(o.Name)
	if err != nil {
		return "", err
	}
	return n, state.ReserveName(s.Root, s.RunRoot, n, id)
}

// generatedFiles are the host paths of container dir's /etc/hostname,
// /etc/hosts and /etc/resolv.conf, bind-mounted over the image's.
func generatedFiles(dir string) (hostname, hosts, resolvConf string) {
	return filepath.Join(dir, "hostname"), filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf")
}

// writeConfig fills the record's configuration (the source of truth),
// then writes what the runtime reads: the generated /etc files and
// config.json.
func (c *Container) writeConfig(img v1.Config, o spec.Options) error {
	id := c.State.ID
	host := spec.Hostname(id, o)
	hostNet := c.HostNetwork()
	files := map[string]string{
		"hostname":    host + "\n",
		"hosts":       hostsAtCreate(host, o, hostNet),
		"resolv.conf": resolvConf(o, hostNet),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("create container: %w", err)
		}
	}
	hostnameFile, hostsFile, resolvFile := generatedFiles(c.Dir)
	sp, err := spec.Build(spec.Input{
		ID: id, Rootfs: filepath.Join(c.Dir, "rootfs"), Image: img, Opts: o,
		HostnameFile: hostnameFile, HostsFile: hostsFile, ResolvConfFile: resolvFile,
		LookupEnv: os.LookupEnv, NoDeviceCgroup: !cgroup.CanRestrictDevices(), Rootless: userns.Rootless(),
		Mounts: c.State.Host.Mounts, VolumeSource: volumeSource(c.store.Root),
		ReadonlyRootfs: c.State.Host.ReadonlyRootfs, AllCaps: allCaps(o.Host.Security),
	})
	if err != nil {
		return err
	}
	ep, cmd, _ := spec.Argv(img, o)
	c.State.Config = state.Config{
		Image: o.ImageRef, Entrypoint: ep, Cmd: cmd, Env: sp.Process.Env,
		WorkingDir: sp.Process.Cwd, User: spec.User(img, o), Hostname: host, Domainname: o.Domainname,
		Tty: o.Tty, OpenStdin: o.Interactive, AutoRemove: o.Remove,
		RestartPolicy: o.Restart, Init: o.Init, StopSignal: stopSignalOf(img, o),
		StopTimeout: o.StopTimeout, Labels: labels(img, o),
		Volumes: configVolumes(img, c.State.Host), ExposedPorts: spec.ExposedPorts(img.ExposedPorts, o),
		AttachStdin: o.Interactive && !o.Detach, AttachStdout: !o.Detach, AttachStderr: !o.Detach,
	}
	if c.spec, err = spec.Write(c.Dir, sp); err != nil {
		return fmt.Errorf("create container: %w", err)
	}
	return nil
}

// configVolumes are docker's Config.Volumes: the image's VOLUME entries
// and the anonymous volumes of -v CTR.
func configVolumes(img v1.Config, h state.Host) map[string]struct{} {
	var anon []string
	for _, m := range h.Mounts {
		if m.Origin == spec.OriginBind && m.Anonymous {
			anon = append(anon, m.Destination)
		}
	}
	if len(anon) == 0 {
		return img.Volumes
	}
	vols := make(map[string]struct{}, len(img.Volumes)+len(anon))
	maps.Copy(vols, img.Volumes)
	for _, d := range anon {
		vols[d] = struct{}{}
	}
	return vols
}

// resolvConf is the container's /etc/resolv.conf: made from the host's
// (systemd-resolved's upstream list where /etc/resolv.conf names only
// its stub) and the --dns flags, as docker makes it; on a user network
// docker's file for its internal resolver (the monitor's, 127.0.0.11).
func resolvConf(o spec.Options, hostNetwork bool) string {
	host, source := hostResolvConf(hostNetwork)
	o = withDNSDefaults(o)
	if spec.IsTapnet(o.Network) || spec.HelperNetwork(o.Network) == spec.NetworkSlirp4netns {
		return spec.TapnetResolvConf(host, o)
	}
	if spec.UsesInternalResolver(o.Network) {
		return spec.InternalResolvConf(host, source, o)
	}
	return spec.ResolvConf(host, o, hostNetwork)
}

// withDNSDefaults is o with the config file's settings standing in for
// the flags not given.
func withDNSDefaults(o spec.Options) spec.Options {
	if len(o.DNS) == 0 {
		o.DNS = o.Default.Servers
	}
	if len(o.DNSSearch) == 0 {
		o.DNSSearch = o.Default.Search
	}
	if len(o.DNSOptions) == 0 {
		o.DNSOptions = o.Default.Options
	}
	return o
}

// hostResolvConf is the host's resolver configuration a container's is
// made from, and the path it was read from: spec.ResolvConfSource's
// choice, else /etc/resolv.conf.
func hostResolvConf(hostNetwork bool) (content []byte, path string) {
	etc, _ := os.ReadFile(spec.ResolvConfPath)
	if src := spec.ResolvConfSource(etc, hostNetwork); src != spec.ResolvConfPath {
		if b, err := os.ReadFile(src); err == nil {
			return b, src
		}
	}
	return etc, spec.ResolvConfPath
}

// hostsAtCreate is the container's /etc/hosts until a start on the bridge
// writes its address in: docker's fixed entries and --add-host's; with
// --network host the host's own file, as docker copies it.
func hostsAtCreate(hostname string, o spec.Options, hostNetwork bool) string {
	if spec.IsTapnet(o.Network) {
		opts, _ := spec.ParseTapnet(o.Network) // checked by the CLI
		return spec.TapnetHostsFile(hostname, o, opts.AllowHostLoopback)
	}
	if spec.HelperNetwork(o.Network) == spec.NetworkSlirp4netns {
		// slirp4netns's addresses are tapnet's.
		opts, _ := spec.ParseHelperNetwork(o.Network) // checked by the CLI
		return spec.TapnetHostsFile(hostname, o, opts.AllowHostLoopback)
	}
	if hostNetwork {
		if b, err := os.ReadFile("/etc/hosts"); err == nil {
			return string(b) + spec.ExtraHosts(o.ExtraHosts, "")
		}
	}
	return spec.Hosts(spec.HostsInput{Hostname: hostname, Domainname: o.Domainname, ExtraHosts: o.ExtraHosts})
}

// initConfig is the message the init gets: the spec plus the overlay,
// what the record says of the user and --init, and the spec's seccomp
// profile compiled (from the cache: the init only loads it).
func (c *Container) initConfig() (*run.InitConfig, error) {
	raw, err := spec.RawSeccomp(c.spec)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", shortid.Of(c.State.ID), err)
	}
	filter, err := seccomp.Cached(c.store.seccompCache(), raw)
	if err != nil {
		return nil, fmt.Errorf("container %s: its seccomp filter: %w", shortid.Of(c.State.ID), err)
	}
	devices, err := resolveDevices(c.State.Host.Security)
	if err != nil {
		return nil, err
	}
	c.devices = &devices
	sp, err := c.specWithLinks()
	if err != nil {
		return nil, err
	}
	return &run.InitConfig{
		Spec:        sp,
		Init:        c.State.Config.Init,
		User:        c.State.Config.User,
		GroupAdd:    c.State.Host.Security.GroupAdd,
		Lowerdirs:   topFirst(c.State.Layers),
		Upper:       filepath.Join(c.Dir, "upper"),
		Work:        filepath.Join(c.Dir, "work"),
		Rootfs:      filepath.Join(c.Dir, "rootfs"),
		Rootless:    userns.Rootless(),
		RootMounted: c.fuse != nil,

		HostNetwork:  c.HostNetwork(),
		CgroupNS:     c.State.Host.Limits.CgroupnsMode == "private",
		CgroupParent: c.State.Host.Limits.CgroupParent,
		Delegation:   cgroup.Recorded(c.State.Host.Limits.CgroupMount, c.State.Host.Limits.CgroupSubtree),
		Seccomp:      filter,
		Devices:      devices.nodes,
	}, nil
}

// seccompCache is where compiled seccomp filters are kept: the run root
// (tmpfs), so a reboot starts afresh and a skiff upgrade never loads
// another compiler's output (seccomp.Cached keys by its version too).
func (s Store) seccompCache() string { return filepath.Join(s.RunRoot, "seccomp") }

// topFirst turns the record's bottom-first layers into overlay's order.
func topFirst(layers []string) []string {
	top := make([]string, len(layers))
	for i, d := range layers {
		top[len(layers)-1-i] = d
	}
	return top
}

// stopSignalOf is --stop-signal, else the image's STOPSIGNAL.
func stopSignalOf(img v1.Config, o spec.Options) string {
	if o.StopSignal != "" {
		return o.StopSignal
	}
	return img.StopSignal
}

// labels are the image's labels overridden by --label, as docker merges them.
func labels(img v1.Config, o spec.Options) map[string]string {
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
	l, err := state.LockContainer(c.store.RunRoot, c.State.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	cur, err := state.Load(c.store.Root, c.State.ID)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	fn(cur)
	c.State = cur
	return state.Save(c.store.Root, cur)
}
