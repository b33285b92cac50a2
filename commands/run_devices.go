package commands

// docker run's device flags, checked with docker/cli's rules and
// sentences (validateLinuxPath, parseLinuxDevice,
// validateDeviceCgroupRule) into the record's Host.Security; each start
// resolves them against the host's nodes (container/devices_linux.go).

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// deviceFlags are --device and --device-cgroup-rule, for run and create.
func deviceFlags() []cli.Flag {
	fs := listFlag("device", nil, "add a host device to the container (HOST[:CONTAINER][:PERMISSIONS], permissions of r, w, m)")
	return append(fs, listFlag("device-cgroup-rule", nil, `add a rule to the cgroup allowed devices list ("c 1:3 rwm")`)...)
}

// deviceOptions reads the device flags into o.Host.Security.
func deviceOptions(c *cli.Context, o *spec.Options) error {
	for _, v := range listOf(c, "device") {
		m, err := parseDevice(v)
		if err != nil {
			return err
		}
		o.Host.Security.Devices = append(o.Host.Security.Devices, m)
	}
	for _, r := range listOf(c, "device-cgroup-rule") {
		if !deviceCgroupRule().MatchString(r) {
			return invalidFlag(r, "--device-cgroup-rule", fmt.Sprintf("invalid device cgroup format '%s'", r))
		}
		o.Host.Security.DeviceCgroupRules = append(o.Host.Security.DeviceCgroupRules, r)
	}
	return nil
}

// deviceCgroupRule is docker's syntax of a rule: "TYPE MAJOR:MINOR ACCESS".
// Compiled on first use: nothing at start-up.
var deviceCgroupRule = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[acb] ([0-9]+|\*):([0-9]+|\*) [rwm]{1,3}$`)
})

func invalidFlag(value, flag, why string) error {
	return fmt.Errorf("invalid argument %q for %q flag: %s", value, flag, why)
}

// parseDevice is one --device HOST[:CONTAINER][:PERMISSIONS]: the
// container's path absolute, the permissions some of r, w and m, each
// once (default rwm, the container's path the host's).
func parseDevice(v string) (state.DeviceMapping, error) {
	if err := checkDevicePath(v); err != nil {
		return state.DeviceMapping{}, invalidFlag(v, "--device", err.Error())
	}
	m := state.DeviceMapping{CgroupPermissions: "rwm"}
	parts := strings.Split(v, ":")
	switch len(parts) {
	case 3:
		m.PathOnHost, m.PathInContainer, m.CgroupPermissions = parts[0], parts[1], parts[2]
	case 2:
		m.PathOnHost = parts[0]
		if validDeviceMode(parts[1]) {
			m.CgroupPermissions = parts[1]
		} else {
			m.PathInContainer = parts[1]
		}
	case 1:
		m.PathOnHost = parts[0]
	}
	if m.PathInContainer == "" {
		m.PathInContainer = m.PathOnHost
	}
	return m, nil
}

// checkDevicePath is docker/cli's validateLinuxPath: at most three parts,
// a host part, a valid mode as third part, an absolute container path.
func checkDevicePath(v string) error {
	if strings.Count(v, ":") > 2 {
		return fmt.Errorf("bad format for path: %s", v)
	}
	parts := strings.Split(v, ":")
	if parts[0] == "" {
		return fmt.Errorf("bad format for path: %s", v)
	}
	ctr := parts[0]
	switch len(parts) {
	case 2:
		if !validDeviceMode(parts[1]) {
			ctr = parts[1]
		}
	case 3:
		ctr = parts[1]
		if !validDeviceMode(parts[2]) {
			return fmt.Errorf("bad mode specified: %s", parts[2])
		}
	}
	if !path.IsAbs(ctr) {
		return fmt.Errorf("%s is not an absolute path", ctr)
	}
	return nil
}

// validDeviceMode: one to three of r, w, m, none twice.
func validDeviceMode(mode string) bool {
	if mode == "" {
		return false
	}
	seen := map[rune]bool{}
	for _, c := range mode {
		if !strings.ContainsRune("rwm", c) || seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}
