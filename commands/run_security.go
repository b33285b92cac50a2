package commands

// The privilege and namespace flags of run and create (--cap-add,
// --cap-drop, --privileged, --group-add, --ulimit, --sysctl, --shm-size,
// --pid, --ipc, --uts, --userns), checked as docker's CLI and daemon check
// them, with their sentences, into the record's Host.Security.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

func securityFlags() []cli.Flag {
	var fs []cli.Flag
	fs = append(fs, listFlag("cap-add", nil, "add Linux capabilities")...)
	fs = append(fs, listFlag("cap-drop", nil, "drop Linux capabilities")...)
	fs = append(fs, listFlag("group-add", nil, "add additional groups to join")...)
	fs = append(fs, listFlag("ulimit", nil, "ulimit options (NAME=SOFT[:HARD])")...)
	fs = append(fs, listFlag("sysctl", nil, "sysctl options (namespaced ones only)")...)
	return append(fs,
		&cli.BoolFlag{Name: "privileged", Usage: "give extended privileges to this container"},
		&cli.StringFlag{Name: "shm-size", Usage: "size of /dev/shm"},
		&cli.StringFlag{Name: "pid", Usage: "PID namespace to use (host or container:NAME|ID)"},
		&cli.StringFlag{Name: "ipc", Usage: "IPC mode to use (host, private, shareable, none or container:NAME|ID)"},
		&cli.StringFlag{Name: "uts", Usage: "UTS namespace to use (host)"},
		&cli.StringFlag{Name: "userns", Usage: "user namespace to use (host)"},
	)
}

// privilegeOptions reads the privilege and namespace flags into
// o.Host.Security (call it after mountOptions, which sets o.Host).
func privilegeOptions(c *cli.Context, o *spec.Options) error {
	s := state.SecurityFlags{
		Privileged: c.Bool("privileged"),
		CapAdd:     listOf(c, "cap-add"), CapDrop: listOf(c, "cap-drop"),
		GroupAdd: listOf(c, "group-add"),
	}
	var err error
	if s.Ulimits, err = parseUlimits(listOf(c, "ulimit")); err != nil {
		return err
	}
	if s.Sysctls, err = parseSysctls(listOf(c, "sysctl")); err != nil {
		return err
	}
	if v := c.String("shm-size"); v != "" {
		if s.ShmSize, err = units.RAMInBytes(v); err != nil {
			return fmt.Errorf("invalid argument %q for \"--shm-size\" flag: %w", v, err)
		}
	}
	if s.PidMode, s.IpcMode, s.UTSMode, s.UsernsMode, err = namespaceModes(c); err != nil {
		return err
	}
	if rootless() {
		if err := rootlessNamespaces(s.PidMode, s.IpcMode); err != nil {
			return err
		}
	}
	if err := checkSecurity(s, o); err != nil {
		return err
	}
	o.Host.Security = s
	return nil
}

// namespaceModes are --pid, --ipc, --uts and --userns checked with docker's
// CLI's and daemon's rules.
func namespaceModes(c *cli.Context) (pid, ipc, uts, userns string, err error) {
	pid, ipc, uts, userns = c.String("pid"), c.String("ipc"), c.String("uts"), c.String("userns")
	if pid != "" && pid != "host" && !joinsContainer(pid) {
		return "", "", "", "", errors.New("--pid: invalid PID mode")
	}
	if uts != "" && uts != "host" {
		return "", "", "", "", errors.New("--uts: invalid UTS mode")
	}
	// docker itself takes "host" alone (without a daemon remapping
	// users, the default is the host's too); skiff has no remapping yet.
	if userns != "" && userns != "host" {
		return "", "", "", "", fmt.Errorf("--userns %s is not supported yet (only --userns host)", userns)
	}
	switch ipc {
	case "", "host", "private", "shareable", "none":
	default:
		if !joinsContainer(ipc) {
			return "", "", "", "", fmt.Errorf("invalid IPC mode: %s", ipc)
		}
	}
	return pid, ipc, uts, userns, nil
}

// joinsContainer reports whether mode is "container:<name|id>".
func joinsContainer(mode string) bool {
	ref, ok := strings.CutPrefix(mode, spec.NetworkContainerPrefix)
	return ok && ref != ""
}

// checkSecurity is the daemon's check of the flags together: capability
// names (before anything is created, so an unknown one leaves nothing),
// the hostname with --uts host, and the shm size.
func checkSecurity(s state.SecurityFlags, o *spec.Options) error {
	if err := checkCaps("CapAdd", s.CapAdd); err != nil {
		return err
	}
	if err := checkCaps("CapDrop", s.CapDrop); err != nil {
		return err
	}
	if s.UTSMode == "host" && o.Hostname != "" {
		return errors.New("conflicting options: hostname and the UTS mode")
	}
	if s.ShmSize < 0 {
		return errors.New("SHM size can not be less than 0")
	}
	return nil
}

// checkCaps refuses a capability docker's daemon refuses: a name it does
// not know ("ALL" is one, "CAP_ALL" is not), or one the kernel or our
// bounding set does not have.
func checkCaps(field string, caps []string) error {
	for _, c := range caps {
		name := spec.NormalizeCap(c)
		switch {
		case name == spec.AllCaps:
		case !run.KnownCap(name):
			return fmt.Errorf("invalid %s: unknown capability: %q", field, name)
		case !run.InBoundingSet(name):
			return fmt.Errorf("invalid %s: capability not supported by your kernel or not available in the current environment: %q", field, name)
		}
	}
	return nil
}

// parseUlimits reads --ulimit as docker's CLI does (go-units' names and
// NAME=SOFT[:HARD]); a later flag for a name replaces the earlier, and
// the list is sorted by name, as docker's. A hard limit above ours that we
// may not raise (no CAP_SYS_RESOURCE) is refused now, clearly, rather
// than by the init's setrlimit.
func parseUlimits(vals []string) ([]state.Ulimit, error) {
	byName := map[string]state.Ulimit{}
	for _, v := range vals {
		l, err := units.ParseUlimit(v)
		if err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--ulimit\" flag: %w", v, err)
		}
		if err := checkUlimit(l); err != nil {
			return nil, err
		}
		byName[l.Name] = state.Ulimit{Name: l.Name, Soft: l.Soft, Hard: l.Hard}
	}
	if len(byName) == 0 {
		return nil, nil
	}
	out := make([]state.Ulimit, 0, len(byName))
	for _, l := range byName {
		out = append(out, l)
	}
	sortUlimits(out)
	return out, nil
}

func sortUlimits(ls []state.Ulimit) {
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
}

// checkUlimit refuses a hard limit the container's init could not set:
// above ours without CAP_SYS_RESOURCE, or for nofile above fs.nr_open.
func checkUlimit(l *units.Ulimit) error {
	rl, err := l.GetRlimit()
	if err != nil {
		return err
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(rl.Type, &cur); err != nil {
		return nil // the init's setrlimit will say
	}
	hard := uint64(l.Hard)
	if l.Hard < 0 {
		hard = unix.RLIM_INFINITY
	}
	if hard > cur.Max && !run.HaveCap("CAP_SYS_RESOURCE") {
		return fmt.Errorf("ulimit %s: hard limit %s is above skiff's own (%s), which it may not raise without CAP_SYS_RESOURCE", l.Name, rlimitText(hard), rlimitText(cur.Max))
	}
	return nil
}

func rlimitText(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

// parseSysctls reads --sysctl KEY=VALUE with docker's CLI's check (the
// namespaced keys only); the daemon's checks against the namespaces
// follow at create (spec.Build).
func parseSysctls(vals []string) (map[string]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(vals))
	for _, v := range vals {
		if err := spec.CheckSysctlName(v); err != nil {
			return nil, fmt.Errorf("invalid argument %q for \"--sysctl\" flag: %w", v, err)
		}
		k, val, _ := strings.Cut(v, "=")
		out[k] = val
	}
	return out, nil
}
