package cgroup

// A container's device rules: docker's default allow-list, plus --device's
// nodes and --device-cgroup-rule's rules (or, --privileged, "a *:* rwm"),
// enforced by the kernel twice on a hybrid host: the v1 devices list and
// the eBPF program of the cgroup2 directory (devices_ebpf_linux.go). Both
// are checked on every open and mknod, so a rule must allow in each.

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultDevices is docker's device allow-list (allowedDevices) as rules.
func DefaultDevices() []specs.LinuxDeviceCgroup {
	rules := make([]specs.LinuxDeviceCgroup, 0, len(allowedDevices))
	for _, s := range allowedDevices {
		r, err := ParseRule(s)
		if err != nil {
			panic("cgroup: docker's allow-list: " + err.Error()) // a typo in allowedDevices
		}
		rules = append(rules, r)
	}
	return rules
}

// AllowAll is --privileged's single rule: every device, every access.
func AllowAll() specs.LinuxDeviceCgroup {
	return Rule(true, "a", -1, -1, "rwm")
}

// Rule is one device rule; -1 for a major or minor is "*".
func Rule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Major: &major, Minor: &minor, Access: access}
}

// ParseRule reads an allow rule in the devices.allow syntax that docker's
// --device-cgroup-rule takes: "TYPE MAJOR:MINOR ACCESS" ("c 1:3 rwm",
// "b *:* m"), or "a" alone.
func ParseRule(s string) (specs.LinuxDeviceCgroup, error) {
	f := strings.Fields(s)
	if len(f) == 1 && f[0] == "a" {
		return AllowAll(), nil
	}
	bad := fmt.Errorf("invalid device cgroup rule %q", s)
	if len(f) != 3 || len(f[0]) != 1 || !strings.Contains("abc", f[0]) {
		return specs.LinuxDeviceCgroup{}, bad
	}
	maj, min, ok := strings.Cut(f[1], ":")
	if !ok {
		return specs.LinuxDeviceCgroup{}, bad
	}
	major, err1 := deviceNumber(maj)
	minor, err2 := deviceNumber(min)
	if err1 != nil || err2 != nil || !validAccess(f[2]) {
		return specs.LinuxDeviceCgroup{}, bad
	}
	return Rule(true, f[0], major, minor, f[2]), nil
}

// deviceNumber is a major or minor: "*" (-1) or a number below 2^32.
func deviceNumber(s string) (int64, error) {
	if s == "*" {
		return -1, nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return int64(n), err
}

func validAccess(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("rwm", c) {
			return false
		}
	}
	return true
}

// FormatRule is r in the v1 devices.allow syntax: "c 1:3 rwm".
func FormatRule(r specs.LinuxDeviceCgroup) string {
	typ := r.Type
	if typ == "" {
		typ = "a"
	}
	return fmt.Sprintf("%s %s:%s %s", typ, formatNumber(r.Major), formatNumber(r.Minor), r.Access)
}

func formatNumber(n *int64) string {
	if n == nil || *n < 0 {
		return "*"
	}
	return strconv.FormatInt(*n, 10)
}

// SetDevices puts the container's device rules in force: rules are
// applied in order over "deny everything" (docker's list starts there),
// a later rule overriding an earlier one. On v1 they are written after
// what New wrote (deny all, docker's list), which they include: only
// allows are added, so a process of the container never sees a moment
// with less than docker's list. On cgroup2 they become one eBPF program
// that replaces the directory's previous one (devices_ebpf_linux.go).
func (c *Cgroup) SetDevices(rules []specs.LinuxDeviceCgroup) error {
	var errs []error
	for _, d := range c.dirs {
		switch {
		case d.h.V2:
			if err := setDeviceProgram(d.path, rules); err != nil {
				errs = append(errs, fmt.Errorf("cgroup %s: device rules: %w", d.path, err))
			}
		case d.h.Devices:
			if err := writeDeviceRules(d.path, rules); err != nil {
				errs = append(errs, fmt.Errorf("cgroup %s: %w", d.path, err))
			}
		}
	}
	return errors.Join(errs...)
}

// writeDeviceRules writes rules into a v1 devices cgroup, each to
// devices.allow or devices.deny.
func writeDeviceRules(leaf string, rules []specs.LinuxDeviceCgroup) error {
	for _, r := range rules {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := writeFile(filepath.Join(leaf, file), FormatRule(r)); err != nil {
			return fmt.Errorf("%s %q: %w", file, FormatRule(r), err)
		}
	}
	return nil
}
