package spec

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/state"
)

// DefaultPath is docker's PATH for an image that sets none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultCaps is docker's default capability set.
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// MaskedPaths and ReadonlyPaths are docker's defaults.
var (
	MaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
		"/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
	}
	ReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
)

// ErrNoCommand is docker's error for an image and flags that name no command.
var ErrNoCommand = errors.New("no command specified")

// Input is everything a container's OCI config is computed from.
type Input struct {
	ID     string // 64-hex container id
	Rootfs string // where the init mounts the overlay
	Image  v1.Config
	Opts   Options
	// Files are the host paths of the generated /etc/hostname, /etc/hosts
	// and /etc/resolv.conf, bind-mounted over the image's.
	HostnameFile, HostsFile, ResolvConfFile string
	// LookupEnv resolves "-e VAR" with no value (os.LookupEnv outside tests).
	LookupEnv func(string) (string, bool)
	// NoDeviceCgroup is set where no cgroup will hold the container to its
	// device rules (neither a v1 devices hierarchy nor a cgroup2 one for
	// the eBPF device program is writable: rootless): it then gets no
	// CAP_MKNOD, so it cannot make a node in its /dev tmpfs for a host
	// device. Stricter than docker, never looser.
	NoDeviceCgroup bool
	// Rootless is a rootless skiff's container (issue 20). Sharing the
	// host's network namespace, it cannot mount a sysfs (the kernel wants
	// CAP_SYS_ADMIN over the network namespace's owner, the host's user
	// namespace): its /sys is the host's, bound read-only, as runc's
	// rootless spec has it.
	Rootless bool
	// Mounts are the record's resolved Host.Mounts (container.Create);
	// VolumeSource says how a volume among them is mounted (nil: a bind
	// of its Source).
	Mounts       []state.Mount
	VolumeSource VolumeSource
	// ReadonlyRootfs is --read-only: the init makes the root read-only
	// once everything is mounted.
	ReadonlyRootfs bool
	// AllCaps are the capabilities in the caller's bounding set: what
	// --privileged and --cap-add ALL give (NeedsAllCaps says when the
	// caller must fill it).
	AllCaps []string
}

// Hostname is -h, or docker's default: the first 12 hex of the id.
func Hostname(id string, o Options) string {
	if o.Hostname != "" {
		return o.Hostname
	}
	return shortid.Of(id)
}

// Argv merges the image's Entrypoint and Cmd with the flags as docker does:
// --entrypoint replaces the entrypoint and drops the image's Cmd; arguments
// after IMAGE replace Cmd.
func Argv(img v1.Config, o Options) (entrypoint, cmd []string, err error) {
	entrypoint, cmd = img.Entrypoint, img.Cmd
	if o.Entrypoint != nil {
		entrypoint, cmd = nil, nil
		if *o.Entrypoint != "" {
			entrypoint = []string{*o.Entrypoint}
		}
	}
	if len(o.Args) > 0 {
		cmd = o.Args
	}
	if len(entrypoint)+len(cmd) == 0 {
		return nil, nil, ErrNoCommand
	}
	return entrypoint, cmd, nil
}

// Env computes the process environment as docker: PATH (the image's
// replaces the default), HOSTNAME, TERM with -t, then the image's Env, then
// --env-file and -e values; a later value for a name replaces the earlier
// one in place, and a bare "VAR" that the caller has not set removes VAR.
func Env(img v1.Config, o Options, hostname string, lookup func(string) (string, bool)) []string {
	base := []string{"PATH=" + DefaultPath, "HOSTNAME=" + hostname}
	if o.Tty {
		base = append(base, "TERM=xterm")
	}
	withImage := replaceOrAppend(base, img.Env) // the image's bare names are not the caller's
	return MergeEnv(withImage, append(append([]string{}, o.EnvFile...), o.Env...), lookup)
}

// MergeEnv applies docker's -e rules to env: "VAR=v" replaces VAR in place
// or is appended; a bare "VAR" takes the caller's value (lookup), or
// removes VAR when the caller has none. exec's -e goes through it too.
func MergeEnv(env, vals []string, lookup func(string) (string, bool)) []string {
	return replaceOrAppend(env, resolveEnv(vals, lookup))
}

// resolveEnv turns "VAR" into "VAR=<caller's value>"; an unset VAR stays
// bare, which replaceOrAppend reads as "remove".
func resolveEnv(vals []string, lookup func(string) (string, bool)) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if !strings.Contains(v, "=") && lookup != nil {
			if val, ok := lookup(v); ok {
				v += "=" + val
			}
		}
		out = append(out, v)
	}
	return out
}

func replaceOrAppend(env, overrides []string) []string {
	out := append([]string{}, env...)
	for _, kv := range overrides {
		k, _, hasVal := strings.Cut(kv, "=")
		i := IndexEnv(out, k)
		switch {
		case !hasVal && i >= 0:
			out = append(out[:i], out[i+1:]...)
		case !hasVal:
		case i >= 0:
			out[i] = kv
		default:
			out = append(out, kv)
		}
	}
	return out
}

// IndexEnv is the index of key's entry in env, or -1.
func IndexEnv(env []string, key string) int {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return i
		}
	}
	return -1
}

// ParseEnvFile reads docker's --env-file format: one VAR=value or VAR per
// line, "#" comments and blank lines ignored, no quoting.
func ParseEnvFile(r io.Reader, name string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("env file %s line %d: variable %q contains whitespaces", name, n, k)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("env file %s: %w", name, err)
	}
	return out, nil
}

// Workdir is -w, else the image's WorkingDir, else "/".
func Workdir(img v1.Config, o Options) (string, error) {
	switch {
	case o.Workdir != "":
		if !path.IsAbs(o.Workdir) {
			return "", fmt.Errorf("the working directory '%s' is invalid, it needs to be an absolute path", o.Workdir)
		}
		return path.Clean(o.Workdir), nil
	case img.WorkingDir != "":
		return path.Clean("/" + img.WorkingDir), nil
	}
	return "/", nil
}

// User is -u, else the image's User (resolved later, inside the container).
func User(img v1.Config, o Options) string {
	if o.User != "" {
		return o.User
	}
	return img.User
}

// Build computes the container's OCI config. It is pure: no file is
// read or written.
func Build(in Input) (*specs.Spec, error) {
	ep, cmd, err := Argv(in.Image, in.Opts)
	if err != nil {
		return nil, err
	}
	cwd, err := Workdir(in.Image, in.Opts)
	if err != nil {
		return nil, err
	}
	mounts, err := allMounts(in)
	if err != nil {
		return nil, err
	}
	host := Hostname(in.ID, in.Opts)
	caps := append([]string{}, DefaultCaps...)
	if in.NoDeviceCgroup {
		caps = slices.DeleteFunc(caps, func(c string) bool { return c == "CAP_MKNOD" })
	}
	sp := &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: in.Opts.Tty,
			Args:     append(append([]string{}, ep...), cmd...),
			Env:      Env(in.Image, in.Opts, host, in.LookupEnv),
			Cwd:      cwd,
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Permitted: caps,
				Effective: caps,
			},
			NoNewPrivileges: in.Opts.Security.NoNewPrivileges,
		},
		Root:       &specs.Root{Path: in.Rootfs, Readonly: in.ReadonlyRootfs},
		Hostname:   host,
		Domainname: in.Opts.Domainname, // --domainname: the init sets it in the UTS namespace
		Mounts:     mounts,
		Linux: &specs.Linux{
			CgroupsPath:   "/skiff/" + in.ID,
			Namespaces:    namespaces(in.Opts.Network == NetworkHost),
			MaskedPaths:   append([]string{}, MaskedPaths...),
			ReadonlyPaths: append([]string{}, ReadonlyPaths...),
		},
	}
	if in.Opts.Security.SystemPathsUnconfined {
		sp.Linux.MaskedPaths, sp.Linux.ReadonlyPaths = nil, nil
	}
	if err := applyPrivileges(sp, in); err != nil {
		return nil, err
	}
	// Last: the default profile's rules depend on the capabilities. A
	// privileged container is unconfined, whatever seccomp= says (docker).
	profile := in.Opts.Security.Seccomp
	if in.Opts.Host.Security.Privileged {
		profile = SeccompUnconfined
	}
	if sp.Linux.Seccomp, err = seccompProfile(profile, sp); err != nil {
		return nil, err
	}
	return sp, nil
}

// Mounts is docker's default mount list followed by the generated /etc
// files (bind mounts whose Source is on the host): a container's mounts
// before any of the user's.
func Mounts(hostnameFile, hostsFile, resolvFile string) []specs.Mount {
	return append(defaultMounts(), generatedMounts(hostnameFile, hostsFile, resolvFile, false)...)
}

func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
	}
}

// generatedMounts bind the generated /etc files; read-only with
// --read-only, as docker's.
func generatedMounts(hostnameFile, hostsFile, resolvFile string, readOnly bool) []specs.Mount {
	var ms []specs.Mount
	for _, f := range []struct{ dst, src string }{
		{"/etc/resolv.conf", resolvFile}, {"/etc/hostname", hostnameFile}, {"/etc/hosts", hostsFile},
	} {
		if f.src != "" {
			o := []string{"rbind", "rprivate"}
			if readOnly {
				o = append(o, "ro")
			}
			ms = append(ms, specs.Mount{Destination: f.dst, Type: "bind", Source: f.src, Options: o})
		}
	}
	return ms
}

// HostsFile is the /etc/hosts of a container without an address of its
// own (loopback only, build's RUN containers): docker's fixed entries and
// the hostname on 127.0.0.1.
func HostsFile(hostname string) string {
	return Hosts(HostsInput{Hostname: hostname, IP: "127.0.0.1"})
}

// Options.Network's modes (docker's --network values without a user
// network); "container:<id>" is NetworkContainerPrefix and the id.
const (
	NetworkBridge          = "bridge"
	NetworkHost            = "host"
	NetworkNone            = "none"
	NetworkContainerPrefix = "container:"
)

// namespaces are the container's own namespaces: all of docker's, but the
// network one with the host's network.
func namespaces(hostNetwork bool) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{{Type: specs.PIDNamespace}}
	if !hostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return append(ns, specs.LinuxNamespace{Type: specs.IPCNamespace},
		specs.LinuxNamespace{Type: specs.UTSNamespace}, specs.LinuxNamespace{Type: specs.MountNamespace})
}
