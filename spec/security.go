package spec

// --security-opt as docker's CLI and daemon read it, and the container's
// seccomp profile: docker's default (github.com/moby/profiles/seccomp, the
// profile's data and its resolution by architecture, capabilities and
// kernel), a profile file's, or none.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/seccomp"
)

// Security is --security-opt, parsed (ParseSecurityOpts).
type Security struct {
	// Seccomp is "" (docker's default profile), SeccompUnconfined, or a
	// profile's JSON: the CLI reads the file, as docker's CLI does.
	Seccomp string
	// NoNewPrivileges is no-new-privileges[=true]: the container's
	// processes cannot gain privileges by execve (setuid, file caps).
	NoNewPrivileges bool
	// SystemPathsUnconfined (systempaths=unconfined) drops docker's masked
	// and read-only /proc and /sys paths.
	SystemPathsUnconfined bool
}

// Docker's names of the built-in seccomp profiles.
const (
	SeccompBuiltin    = "builtin"
	SeccompUnconfined = "unconfined"
)

// ParseSecurityOpts checks --security-opt values with docker's CLI's and
// daemon's rules and sentences. It returns what the container gets and
// the values as docker records them (inspect's HostConfig.SecurityOpt): a
// profile file's compacted JSON in place of its path, systempaths left
// out (docker's CLI handles it and does not send it).
func ParseSecurityOpts(opts []string, readFile func(string) ([]byte, error)) (Security, []string, error) {
	var sec Security
	var recorded []string
	for _, opt := range opts {
		k, v, ok := strings.Cut(opt, "=")
		if !ok && k != "no-new-privileges" {
			k, v, ok = strings.Cut(opt, ":")
		}
		if (!ok || v == "") && k != "no-new-privileges" {
			return sec, nil, fmt.Errorf("invalid --security-opt: %q", opt)
		}
		switch k {
		case "seccomp":
			profile, err := seccompOpt(v, readFile)
			if err != nil {
				return sec, nil, err
			}
			sec.Seccomp = profile
			if profile != "" && profile != SeccompUnconfined {
				opt = "seccomp=" + profile
			}
		case "no-new-privileges":
			b := true
			if ok {
				var err error
				if b, err = strconv.ParseBool(v); err != nil {
					return sec, nil, fmt.Errorf("invalid --security-opt 2: %q", opt)
				}
			}
			sec.NoNewPrivileges = b
		case "systempaths":
			if v != "unconfined" {
				return sec, nil, fmt.Errorf("invalid --security-opt 2: %q", opt)
			}
			sec.SystemPathsUnconfined = true
			continue
		case "apparmor":
			// No AppArmor profile is ever loaded: unconfined is what a
			// container gets, and saying so is accepted.
			if v != "unconfined" {
				return sec, nil, fmt.Errorf("--security-opt %s: AppArmor profiles are not supported yet (only apparmor=unconfined)", opt)
			}
		case "label":
			if v != "disable" {
				return sec, nil, fmt.Errorf("--security-opt %s: SELinux labels are not supported yet (only label=disable)", opt)
			}
		default:
			return sec, nil, fmt.Errorf("invalid --security-opt 2: %q", opt)
		}
		recorded = append(recorded, opt)
	}
	return sec, recorded, nil
}

// seccompOpt is seccomp=VALUE: the built-in names, else a profile file,
// read, compacted and checked now, so a bad file fails before anything is
// created and the error names it.
func seccompOpt(v string, readFile func(string) ([]byte, error)) (string, error) {
	switch v {
	case SeccompBuiltin:
		return "", nil
	case SeccompUnconfined:
		return v, nil
	}
	body, err := readFile(v)
	if err != nil {
		return "", fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, body); err != nil {
		return "", fmt.Errorf("compacting json for seccomp profile (%s) failed: %w", v, err)
	}
	// Resolved and compiled once against docker's default set, only to
	// check it: a profile the compiler refuses fails now, not at start.
	probe := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{Bounding: DefaultCaps}}}
	s, err := mobyseccomp.LoadProfile(b.String(), probe)
	if err == nil {
		_, err = seccomp.Compile(s)
	}
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "seccomp profile: ") // the compiler's own prefix
		return "", fmt.Errorf("seccomp profile (%s): %s", v, lowerFirst(msg))
	}
	return b.String(), nil
}

// seccompProfile is the filter of a container whose OCI config sp is
// otherwise complete: the profile's rules resolved for this architecture,
// sp's capabilities and the running kernel, as docker's daemon does.
func seccompProfile(profile string, sp *specs.Spec) (*specs.LinuxSeccomp, error) {
	switch profile {
	case SeccompUnconfined:
		return nil, nil
	case "":
		s, err := mobyseccomp.GetDefaultProfile(sp)
		if err != nil {
			return nil, fmt.Errorf("docker's default seccomp profile: %w", err)
		}
		return s, nil
	}
	s, err := mobyseccomp.LoadProfile(profile, sp)
	if err != nil {
		return nil, fmt.Errorf("seccomp profile: %s", lowerFirst(err.Error()))
	}
	return s, nil
}

// lowerFirst makes a library's capitalised sentence fit after a prefix.
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
