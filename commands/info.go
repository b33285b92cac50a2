package commands

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

// `info` (and `system info`) reads and never writes: no store is created, no
// lock taken, nothing started, so `skiff info >/dev/null` is a safe probe on
// a machine that never ran skiff.
func init() {
	register(infoCommand(), &cli.Command{
		Name:        "system",
		Usage:       "manage skiff",
		Subcommands: []*cli.Command{infoCommand()},
	})
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
	cs, err := state.List(root)
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
			fmt.Fprintln(&b, "  "+strings.TrimPrefix(o, "name="))
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

// securityOptions lists only what skiff applies to every container: no
// seccomp, AppArmor, SELinux or user-namespace remapping yet.
func securityOptions(rootless bool) []string {
	if rootless {
		return []string{"name=rootless"}
	}
	return []string{}
}

// cgroupDriver is docker's "Cgroup Driver": skiff writes the cgroup
// filesystem itself; without root it can write no hierarchy's root and
// creates no cgroup ("none", as rootless docker on v1 says).
func cgroupDriver(rootless bool, version string) string {
	if rootless || version == "" {
		return "none"
	}
	return "cgroupfs"
}

// cgroupVersion is docker's "Cgroup Version": "2" only when the unified
// hierarchy is all there is; a hybrid host (v1 controllers beside a
// cgroup2 mount) is "1", as docker says, since the controllers are v1.
func cgroupVersion() string {
	hs, err := cgroup.Hierarchies()
	if err != nil {
		return ""
	}
	return cgroupVersionOf(hs)
}

func cgroupVersionOf(hs []cgroup.Hierarchy) string {
	v := ""
	for _, h := range hs {
		if !h.V2 {
			return "1"
		}
		v = "2"
	}
	return v
}

// fsNames are docker's names for the filesystems a store may live on
// (statfs f_type magic numbers).
var fsNames = map[int64]string{
	0x61756673: "aufs", 0x9123683E: "btrfs", 0x28cd3d45: "cramfs", 0xf15f: "ecryptfs",
	0xEF53: "extfs", 0xF2F52010: "f2fs", 0x65735546: "fuse", 0x47504653: "gpfs",
	0x72b6: "jffs2", 0x3153464a: "jfs", 0x6969: "nfs", 0x794C7630: "overlayfs",
	0x858458f6: "ramfs", 0x52654973: "reiserfs", 0x517B: "smb", 0x73717368: "squashfs",
	0x01021994: "tmpfs", 0xa501fcf5: "vxfs", 0x58465342: "xfs", 0x2fc12fc1: "zfs",
}

// backingFS names the filesystem the store is (or would be) on: the
// nearest existing directory at or above root.
func backingFS(root string) string {
	for p := root; ; p = filepath.Dir(p) {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err == nil {
			if n, ok := fsNames[int64(st.Type)]; ok {
				return n
			}
			return "<unknown>"
		}
		if p == "/" {
			return "<unknown>"
		}
	}
}

type uname struct{ release, machine string }

func hostUname() uname {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return uname{}
	}
	return uname{release: unix.ByteSliceToString(u.Release[:]), machine: unix.ByteSliceToString(u.Machine[:])}
}

// osRelease reads PRETTY_NAME and VERSION_ID from os-release, where docker
// reads them.
func osRelease() (pretty, version string) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		return parseOSRelease(f)
	}
	return "", ""
}

func parseOSRelease(r io.Reader) (pretty, version string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "PRETTY_NAME":
			pretty = v
		case "VERSION_ID":
			version = v
		}
	}
	return pretty, version
}

var osHostname = os.Hostname

func memTotal() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1 // docker's "unknown"
	}
	return len(ents)
}

// proxyEnv is a proxy variable as pulls see it (upper or lower case), with
// a password masked as docker masks it.
func proxyEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		v = os.Getenv(strings.ToLower(name))
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return v
}

// engineID is a stable id for this machine's store, computed rather than
// stored (info writes nothing): the machine id and the root, shaped as
// docker's UUID engine id.
func engineID(root string) string {
	mid, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		h, _ := osHostname()
		mid = []byte(h)
	}
	s := sha256.Sum256([]byte(strings.TrimSpace(string(mid)) + "\x00" + root))
	x := fmt.Sprintf("%x", s[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
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
