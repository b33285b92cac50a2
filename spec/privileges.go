package spec

// The privilege and namespace flags (the record's Host.Security) in the
// OCI config, as docker's daemon and runc apply them: the capability sets
// (--cap-add, --cap-drop, --privileged), what --privileged opens (no
// masked or read-only paths, /sys and its cgroup mount writable; seccomp
// off, in Build), rlimits, sysctls checked against the namespaces the
// container gets, /dev/shm's size or absence, and the namespaces shared
// with the host or another container.

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/state"
)

// AllCaps is docker's "every capability" for --cap-add and --cap-drop.
const AllCaps = "ALL"

// NormalizeCap is a capability as docker's daemon compares it: upper
// case, "CAP_" prefixed; "ALL" stays (but "CAP_ALL" is no capability).
func NormalizeCap(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == AllCaps || strings.HasPrefix(c, "CAP_") {
		return c
	}
	return "CAP_" + c
}

// Namespace modes of the record's Host.Security (docker's words).
const (
	ModeHost      = "host"
	IpcNone       = "none"
	IpcShareable  = "shareable"
	IpcPrivate    = "private"
	shmMountPoint = "/dev/shm"
)

// ModeContainer is the container id (or name, before create resolves it)
// of a "container:<id>" mode, else "".
func ModeContainer(mode string) string {
	ref, _ := strings.CutPrefix(mode, NetworkContainerPrefix)
	if ref == mode {
		return ""
	}
	return ref
}

// applyPrivileges changes sp, complete but for its seccomp profile, as the
// record's Host.Security asks.
func applyPrivileges(sp *specs.Spec, in Input) error {
	sec := in.Opts.Host.Security
	caps := tweakCaps(sp.Process.Capabilities.Bounding, sec, in.AllCaps)
	sp.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Permitted: caps, Effective: caps}
	if sec.Privileged {
		sp.Linux.MaskedPaths, sp.Linux.ReadonlyPaths = nil, nil
		writableSys(sp.Mounts)
	}
	sp.Process.Rlimits = rlimits(sec.Ulimits)
	sp.Mounts = shmMount(sp.Mounts, sec)
	sp.Linux.Namespaces = sharedNamespaces(sp.Linux.Namespaces, sec)
	if sec.UTSMode == ModeHost {
		sp.Hostname, sp.Domainname = "", "" // the host's stay
	}
	if err := checkSysctls(sec.Sysctls, sp.Linux.Namespaces); err != nil {
		return err
	}
	if len(sec.Sysctls) > 0 {
		sp.Linux.Sysctl = sec.Sysctls
	}
	return nil
}

// tweakCaps is docker's daemon's capability set: every one we have with
// --privileged; else basics with --cap-drop's removed and --cap-add's
// added, ALL meaning every one we have (all: the caller's bounding set).
// The names were checked by the CLI.
func tweakCaps(basics []string, sec state.SecurityFlags, all []string) []string {
	if sec.Privileged {
		return append([]string{}, all...)
	}
	if len(sec.CapAdd) == 0 && len(sec.CapDrop) == 0 {
		return basics
	}
	add, drop := normalizeCaps(sec.CapAdd), normalizeCaps(sec.CapDrop)
	var caps []string
	switch {
	case slices.Contains(add, AllCaps):
		for _, c := range all {
			if !slices.Contains(drop, c) {
				caps = append(caps, c)
			}
		}
	case slices.Contains(drop, AllCaps):
		caps = add
	default:
		for _, c := range basics {
			if !slices.Contains(drop, c) {
				caps = append(caps, c)
			}
		}
		for _, c := range add {
			if !slices.Contains(caps, c) {
				caps = append(caps, c)
			}
		}
	}
	if caps == nil {
		caps = []string{}
	}
	return caps
}

func normalizeCaps(cs []string) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = NormalizeCap(c)
	}
	return out
}

// NeedsAllCaps reports whether sec's capabilities depend on the caller's
// bounding set (Input.AllCaps): --privileged or --cap-add ALL.
func NeedsAllCaps(sec state.SecurityFlags) bool {
	return sec.Privileged || slices.ContainsFunc(sec.CapAdd, func(c string) bool { return NormalizeCap(c) == AllCaps })
}

// writableSys drops "ro" from /sys and its cgroup mount, as docker does
// for a privileged container.
func writableSys(ms []specs.Mount) {
	for i, m := range ms {
		if m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup" {
			ms[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
		}
	}
}

// rlimits are --ulimit's as OCI names them (nofile: RLIMIT_NOFILE). A
// negative value is unlimited, as go-units reads "-1".
func rlimits(ls []state.Ulimit) []specs.POSIXRlimit {
	var out []specs.POSIXRlimit
	for _, l := range ls {
		out = append(out, specs.POSIXRlimit{
			Type: "RLIMIT_" + strings.ToUpper(l.Name), Soft: rlimitValue(l.Soft), Hard: rlimitValue(l.Hard),
		})
	}
	return out
}

func rlimitValue(v int64) uint64 {
	if v < 0 {
		return ^uint64(0) // RLIM_INFINITY
	}
	return uint64(v)
}

// shmMount is /dev/shm as the IPC mode and --shm-size make it: docker's
// 64 MiB tmpfs or --shm-size's; none without it (--ipc none); the host's
// with --ipc host; with --ipc container: none here, the start attaches
// the donor's.
func shmMount(ms []specs.Mount, sec state.SecurityFlags) []specs.Mount {
	i := slices.IndexFunc(ms, func(m specs.Mount) bool { return m.Destination == shmMountPoint && m.Source == "shm" })
	if i < 0 {
		return ms
	}
	switch {
	case sec.IpcMode == IpcNone, ModeContainer(sec.IpcMode) != "":
		// none has none; a joiner gets the donor's at start.
		return slices.Delete(slices.Clone(ms), i, i+1)
	case sec.IpcMode == ModeHost:
		ms = slices.Clone(ms)
		ms[i] = specs.Mount{Destination: shmMountPoint, Type: "bind", Source: shmMountPoint, Options: []string{"rbind", "rprivate"}}
	case sec.ShmSize > 0:
		ms = slices.Clone(ms)
		opts := slices.Clone(ms[i].Options)
		for j, o := range opts {
			if strings.HasPrefix(o, "size=") {
				opts[j] = "size=" + strconv.FormatInt(sec.ShmSize, 10)
			}
		}
		ms[i].Options = opts
	}
	return ms
}

// sharedNamespaces drops from ns the namespaces shared with the host, and
// marks those joined from another container (the start joins them: its
// pid is known only then) by their path's placeholder.
func sharedNamespaces(ns []specs.LinuxNamespace, sec state.SecurityFlags) []specs.LinuxNamespace {
	modes := map[specs.LinuxNamespaceType]string{
		specs.PIDNamespace: sec.PidMode, specs.IPCNamespace: sec.IpcMode, specs.UTSNamespace: sec.UTSMode,
	}
	out := make([]specs.LinuxNamespace, 0, len(ns))
	for _, n := range ns {
		mode := modes[n.Type]
		switch {
		case mode == ModeHost:
			continue
		case ModeContainer(mode) != "":
			n.Path = mode // "container:<id>": resolved to a process at start
		}
		out = append(out, n)
	}
	return out
}

// CheckSysctlName is docker's CLI's check of a --sysctl KEY=VALUE: only
// keys the kernel keeps per namespace.
func CheckSysctlName(kv string) error {
	k, _, ok := strings.Cut(kv, "=")
	if !ok || k == "" || !(ipcSysctl(k) || strings.HasPrefix(k, "net.")) {
		return fmt.Errorf("sysctl '%s' is not allowed", kv)
	}
	return nil
}

// ipcSysctl reports whether key belongs to the IPC namespace.
func ipcSysctl(key string) bool {
	switch key {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced":
		return true
	}
	return strings.HasPrefix(key, "fs.mqueue.")
}

// checkSysctls is runc's check of the sysctls against the namespaces the
// container gets: each must be one of its own, never the host's.
func checkSysctls(sysctls map[string]string, ns []specs.LinuxNamespace) error {
	has := func(t specs.LinuxNamespaceType) bool {
		return slices.ContainsFunc(ns, func(n specs.LinuxNamespace) bool { return n.Type == t })
	}
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		switch {
		case ipcSysctl(k):
			if !has(specs.IPCNamespace) {
				return fmt.Errorf("sysctl %q is not allowed in the hosts ipc namespace", k)
			}
		case strings.HasPrefix(k, "net."):
			if !has(specs.NetworkNamespace) {
				return fmt.Errorf("sysctl %q not allowed in host network namespace", k)
			}
		case k == "kernel.domainname" && has(specs.UTSNamespace):
		case k == "kernel.hostname" && has(specs.UTSNamespace):
			return fmt.Errorf("sysctl %q is not allowed as it conflicts with the OCI %q field", k, "hostname")
		default:
			return fmt.Errorf("sysctl %q is not in a separate kernel namespace", k)
		}
	}
	return nil
}
