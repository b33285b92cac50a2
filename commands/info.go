package commands

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

// `info` (and `system info`) reads and never writes: no store is created, no
// lock taken, nothing started, so `skiff info >/dev/null` is a safe probe on
// a machine that never ran skiff.
func init() { register(infoCommand, systemGroupCommand) }

func systemGroupCommand() *cli.Command {
	return &cli.Command{
		Name:        "system",
		Usage:       "manage skiff",
		Subcommands: []*cli.Command{infoCommand(), systemDfCommand(), systemPruneCommand()},
	}
}

func infoCommand() *cli.Command {
	return &cli.Command{
		Name:   "info",
		Usage:  "display system-wide information",
		Flags:  []cli.Flag{formatFlag()},
		Action: runInfo,
	}
}

// formatFlag is docker's --format of `info` and `version`.
func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "format the output using the given Go template, or json"}
}

// infoDoc is docker's `info` document: system.Info's keys at the top (as
// the Engine API's GET /info has them) plus the CLI's ClientInfo, so a
// template naming a docker key never fails. What skiff does not have is
// docker's zero value.
type infoDoc struct {
	ID                 string
	Containers         int
	ContainersRunning  int
	ContainersPaused   int
	ContainersStopped  int
	Images             int
	Driver             string
	DriverStatus       [][2]string
	Plugins            infoPlugins
	MemoryLimit        bool
	SwapLimit          bool
	CPUCfsPeriod       bool `json:"CpuCfsPeriod"`
	CPUCfsQuota        bool `json:"CpuCfsQuota"`
	CPUShares          bool
	CPUSet             bool
	PidsLimit          bool
	IPv4Forwarding     bool
	Debug              bool
	NFd                int
	OomKillDisable     bool
	NGoroutines        int
	SystemTime         string
	LoggingDriver      string
	CgroupDriver       string
	CgroupVersion      string `json:",omitempty"`
	NEventsListener    int
	KernelVersion      string
	OperatingSystem    string
	OSVersion          string
	OSType             string
	Architecture       string
	IndexServerAddress string
	RegistryConfig     *registryConfig
	NCPU               int
	MemTotal           int64
	GenericResources   []any
	DockerRootDir      string
	HTTPProxy          string `json:"HttpProxy"`
	HTTPSProxy         string `json:"HttpsProxy"`
	NoProxy            string
	Name               string
	Labels             []string
	ExperimentalBuild  bool
	ServerVersion      string
	Runtimes           map[string]any
	DefaultRuntime     string
	Swarm              swarmInfo
	LiveRestoreEnabled bool
	Isolation          string
	InitBinary         string
	ContainerdCommit   commitInfo
	RuncCommit         commitInfo
	InitCommit         commitInfo
	SecurityOptions    []string
	CDISpecDirs        []string
	Warnings           []string
	ClientInfo         *infoClient `json:",omitempty"`
}

type infoPlugins struct {
	Volume, Network, Authorization, Log []string
}

type commitInfo struct{ ID string }

// swarmInfo is docker's Swarm section as an engine outside any swarm has it.
type swarmInfo struct {
	NodeID           string
	NodeAddr         string
	LocalNodeState   string
	ControlAvailable bool
	Error            string
	RemoteManagers   []any
}

// registryConfig is docker's RegistryConfig: insecure registries by CIDR
// and by name (IndexConfigs with Secure false), Docker Hub secure.
type registryConfig struct {
	InsecureRegistryCIDRs []string
	IndexConfigs          map[string]indexInfo
	Mirrors               []string
}

type indexInfo struct {
	Name     string
	Mirrors  []string
	Secure   bool
	Official bool
}

// infoClient is docker's ClientInfo: the CLI half of `info`.
type infoClient struct {
	Debug bool
	clientVersion
	Plugins  []any
	Warnings []string
}

func runInfo(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{1, fmt.Errorf("%q accepts no arguments.", "skiff "+c.Command.FullName())}
	}
	g, err := globals(c)
	if err != nil {
		return &ExitError{1, err}
	}
	d, err := collectInfo(g)
	if err != nil {
		return &ExitError{1, err}
	}
	if f := c.String("format"); f != "" {
		return printFormat(os.Stdout, f, d)
	}
	return printInfo(os.Stdout, d)
}

// collectInfo gathers the document: counts from the container records and
// image records (no layer walk), the rest from the host.
func collectInfo(g *Globals) (infoDoc, error) {
	root, err := filepath.Abs(g.Paths.Root)
	if err != nil {
		return infoDoc{}, fmt.Errorf("info: %w", err)
	}
	cs, err := container.Store{Root: root}.List()
	if err != nil {
		return infoDoc{}, err
	}
	images, err := store.CountImages(root)
	if err != nil {
		return infoDoc{}, err
	}
	u := hostUname()
	osName, osVersion := osRelease()
	hostname, _ := osHostname()
	rootless := unix.Geteuid() != 0
	cgVersion := cgroupVersion()
	cl := newClientVersion()
	d := infoDoc{
		ID: engineID(root), Images: images,
		Driver: "overlay2", DriverStatus: [][2]string{{"Backing Filesystem", backingFS(root)}},
		Plugins: infoPlugins{Volume: []string{}, Network: []string{}, Log: []string{"json-file"}},
		NFd:     openFDs(), NGoroutines: runtime.NumGoroutine(), SystemTime: time.Now().Format(time.RFC3339Nano),
		LoggingDriver: "json-file", CgroupDriver: cgroupDriver(rootless, cgVersion), CgroupVersion: cgVersion,
		KernelVersion: u.release, OperatingSystem: osName, OSVersion: osVersion, OSType: "linux",
		Architecture: u.machine, IndexServerAddress: "https://index.docker.io/v1/",
		RegistryConfig: newRegistryConfig(g.InsecureRegistries),
		NCPU:           runtime.NumCPU(), MemTotal: memTotal(), DockerRootDir: root,
		HTTPProxy: proxyEnv("HTTP_PROXY"), HTTPSProxy: proxyEnv("HTTPS_PROXY"), NoProxy: proxyEnv("NO_PROXY"),
		Name: hostname, Labels: []string{}, ServerVersion: Version, Runtimes: map[string]any{},
		Swarm:           swarmInfo{LocalNodeState: "inactive"},
		SecurityOptions: securityOptions(rootless), CDISpecDirs: []string{},
		ClientInfo: &infoClient{clientVersion: cl, Plugins: []any{}},
	}
	d.ClientInfo.APIVersion = "" // docker's `info` leaves the negotiated version out
	if !rootless {
		setLimitSupport(&d)
	}
	countContainers(&d, cs)
	return d, nil
}

// countContainers is docker's tally: paused and running by state, every
// other state (created, restarting, exited) stopped.
func countContainers(d *infoDoc, cs []*state.Container) {
	d.Containers = len(cs)
	for _, c := range cs {
		switch c.Status {
		case state.Running:
			d.ContainersRunning++
		case state.Paused:
			d.ContainersPaused++
		default:
			d.ContainersStopped++
		}
	}
}

// printInfo is docker's `info` layout, with only the lines that apply to
// skiff (no plugins, swarm, runtimes or containerd/runc versions).
func printInfo(w io.Writer, d infoDoc) error {
	var b bytes.Buffer
	cl := d.ClientInfo
	fmt.Fprintln(&b, "Client:")
	fmt.Fprintln(&b, " Version:   ", cl.Version)
	fmt.Fprintln(&b, " Context:   ", cl.Context)
	fmt.Fprintln(&b, " Debug Mode:", cl.Debug)
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "Server:")
	fmt.Fprintln(&b, " Containers:", d.Containers)
	fmt.Fprintln(&b, "  Running:", d.ContainersRunning)
	fmt.Fprintln(&b, "  Paused:", d.ContainersPaused)
	fmt.Fprintln(&b, "  Stopped:", d.ContainersStopped)
	fmt.Fprintln(&b, " Images:", d.Images)
	fmt.Fprintln(&b, " Server Version:", d.ServerVersion)
	fmt.Fprintln(&b, " Storage Driver:", d.Driver)
	for _, kv := range d.DriverStatus {
		fmt.Fprintf(&b, "  %s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintln(&b, " Logging Driver:", d.LoggingDriver)
	fmt.Fprintln(&b, " Cgroup Driver:", d.CgroupDriver)
	printNonEmpty(&b, " Cgroup Version:", d.CgroupVersion)
	if len(d.SecurityOptions) > 0 {
		fmt.Fprintln(&b, " Security Options:")
		for _, o := range d.SecurityOptions {
			printSecurityOption(&b, o)
		}
	}
	printNonEmpty(&b, " Kernel Version:", d.KernelVersion)
	printNonEmpty(&b, " Operating System:", d.OperatingSystem)
	fmt.Fprintln(&b, " OSType:", d.OSType)
	printNonEmpty(&b, " Architecture:", d.Architecture)
	fmt.Fprintln(&b, " CPUs:", d.NCPU)
	fmt.Fprintln(&b, " Total Memory:", units.BytesSize(d.MemTotal))
	printNonEmpty(&b, " Name:", d.Name)
	fmt.Fprintln(&b, " ID:", d.ID)
	fmt.Fprintln(&b, " Docker Root Dir:", d.DockerRootDir)
	fmt.Fprintln(&b, " Debug Mode:", d.Debug)
	printNonEmpty(&b, " HTTP Proxy:", d.HTTPProxy)
	printNonEmpty(&b, " HTTPS Proxy:", d.HTTPSProxy)
	printNonEmpty(&b, " No Proxy:", d.NoProxy)
	fmt.Fprintln(&b, " Experimental:", d.ExperimentalBuild)
	printRegistries(&b, d.RegistryConfig)
	fmt.Fprintln(&b, " Live Restore Enabled:", d.LiveRestoreEnabled)
	fmt.Fprintln(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func printNonEmpty(w io.Writer, label, value string) {
	if value != "" {
		fmt.Fprintln(w, label, value)
	}
}

// printRegistries lists insecure registries as docker: names first, then CIDRs.
func printRegistries(w io.Writer, r *registryConfig) {
	fmt.Fprintln(w, " Insecure Registries:")
	names := make([]string, 0, len(r.IndexConfigs))
	for n, ic := range r.IndexConfigs {
		if !ic.Secure {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintln(w, "  "+n)
	}
	for _, c := range r.InsecureRegistryCIDRs {
		fmt.Fprintln(w, "  "+c)
	}
}

// newRegistryConfig sorts the configured insecure registries as docker's
// daemon does: CIDRs into InsecureRegistryCIDRs, names into IndexConfigs;
// loopback (::1/128, 127.0.0.0/8) is always insecure, in docker and in
// skiff's pull. A scheme prefix is dropped, as pull drops it.
func newRegistryConfig(insecure []string) *registryConfig {
	rc := &registryConfig{
		InsecureRegistryCIDRs: []string{},
		IndexConfigs:          map[string]indexInfo{"docker.io": {Name: "docker.io", Mirrors: []string{}, Secure: true, Official: true}},
		Mirrors:               []string{},
	}
	seen := map[string]bool{}
	for _, r := range append(append([]string{}, insecure...), "::1/128", "127.0.0.0/8") {
		r = strings.TrimPrefix(strings.TrimPrefix(r, "http://"), "https://")
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		if _, n, err := net.ParseCIDR(r); err == nil {
			rc.InsecureRegistryCIDRs = append(rc.InsecureRegistryCIDRs, n.String())
			continue
		}
		rc.IndexConfigs[r] = indexInfo{Name: r, Mirrors: []string{}}
	}
	return rc
}

// printFormat renders a document with docker's `info`/`version` --format:
// "json" is the whole document on one line; a template that does not parse
// is docker's "template parsing error" (exit 64), one that fails to run
// (an unknown field) exits 1 with Go's message, as docker.
func printFormat(w io.Writer, format string, doc any) error {
	if format == "json" {
		format = "{{json .}}"
	}
	t, err := goTemplate(format)
	if err != nil {
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return &ExitError{64, fmt.Errorf("template parsing error: %w", err)}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, doc); err != nil {
		return &ExitError{1, err}
	}
	b.WriteByte('\n')
	_, err = w.Write(b.Bytes())
	return err
}
