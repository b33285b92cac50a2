package build

// An image config changed by Dockerfile instructions: the -c/--change of
// commit and import, parsed by BuildKit's parser and instructions as a
// Dockerfile's, and the one place that applies a metadata instruction
// (ENV, LABEL, CMD, ...) to a config, which a build's steps use too.

import (
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/sys/unix"
)

// validChangeCommands are the instructions docker's commit and import
// accept as changes.
var validChangeCommands = []string{"cmd", "entrypoint", "env", "expose", "healthcheck", "label",
	"onbuild", "stopsignal", "user", "volume", "workdir"}

// ApplyChanges applies the -c Dockerfile instructions to cfg in order,
// each expanded with the config's environment as docker does. All are
// parsed before any applies; on an error cfg may be half changed, and
// the caller drops it.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	var cmds []instructions.Command
	var escape rune
	for _, ch := range changes {
		parsed, esc, err := parseChange(ch)
		if err != nil {
			return err
		}
		cmds, escape = append(cmds, parsed...), esc
	}
	ed := ConfigEditor{Config: cfg}
	for _, cmd := range cmds {
		if err := Expand(cmd, cfg.Env, escape); err != nil {
			return err
		}
		if err := ed.Apply(cmd); err != nil {
			return err
		}
	}
	return nil
}

// parseChange parses one -c value (a Dockerfile line, or several) and
// refuses what docker's commit refuses.
func parseChange(change string) ([]instructions.Command, rune, error) {
	res, err := parser.Parse(strings.NewReader(change))
	if err != nil {
		return nil, 0, unlocated(err)
	}
	var cmds []instructions.Command
	for _, n := range res.AST.Children {
		word := strings.ToLower(n.Value)
		if !contains(validChangeCommands, word) {
			return nil, 0, fmt.Errorf("%s is not a valid change command", n.Value)
		}
		cmd, err := instructions.ParseCommand(n)
		if err != nil {
			return nil, 0, unlocated(err)
		}
		if ob, ok := cmd.(*instructions.OnbuildCommand); ok {
			if _, err := ParseTriggers([]string{ob.Expression}); err != nil {
				return nil, 0, err
			}
		}
		cmds = append(cmds, cmd)
	}
	return cmds, res.EscapeToken, nil
}

// unlocated is a parse error without BuildKit's location wrapper: a -c
// has no file and line to name.
func unlocated(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) {
		return le.Unwrap()
	}
	return err
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// ConfigEditor applies metadata instructions, already expanded (Expand),
// to an image config in order, as docker's dispatcher: it remembers
// whether a CMD was set, since an ENTRYPOINT drops a CMD that was not set
// with it (it would become the new entrypoint's arguments).
type ConfigEditor struct {
	Config *v1.Config
	cmdSet bool
}

// Apply applies one metadata instruction: CMD, ENTRYPOINT, ENV, EXPOSE,
// HEALTHCHECK, LABEL, ONBUILD, SHELL, STOPSIGNAL, USER, VOLUME or WORKDIR
// (WORKDIR only sets the config; a build also creates the directory).
func (e *ConfigEditor) Apply(cmd instructions.Command) error {
	cfg := e.Config
	switch c := cmd.(type) {
	case *instructions.CmdCommand:
		cfg.Cmd = e.commandLine(c.ShellDependantCmdLine)
		e.cmdSet = true
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = e.commandLine(c.ShellDependantCmdLine)
		if !e.cmdSet {
			cfg.Cmd = nil
		}
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil && len(c.Labels) > 0 {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.WorkdirCommand:
		return setWorkdir(cfg, c.Path)
	case *instructions.UserCommand:
		if c.User == "" || strings.ContainsAny(c.User, " \t") {
			return errors.New("USER requires exactly one argument")
		}
		cfg.User = c.User
	case *instructions.StopSignalCommand:
		if err := checkSignal(c.Signal); err != nil {
			return err
		}
		cfg.StopSignal = c.Signal
	case *instructions.ExposeCommand:
		return addExposedPorts(cfg, c.Ports)
	case *instructions.VolumeCommand:
		return addVolumes(cfg, c.Volumes)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, Retries: h.Retries}
	case *instructions.ShellCommand:
		cfg.Shell = c.Shell
	default:
		return fmt.Errorf("%s does not change an image config", strings.ToUpper(cmd.Name()))
	}
	return nil
}

// commandLine is a CMD/ENTRYPOINT as the config keeps it: the exec form
// as written, the shell form run by the config's SHELL (/bin/sh -c).
func (e *ConfigEditor) commandLine(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return c.CmdLine
	}
	shell := e.Config.Shell
	if len(shell) == 0 {
		shell = []string{"/bin/sh", "-c"}
	}
	return append(append([]string{}, shell...), strings.Join(c.CmdLine, " "))
}

// setWorkdir sets the working directory, a relative one below the current.
func setWorkdir(cfg *v1.Config, dir string) error {
	if dir == "" {
		return errors.New("cannot normalize nothing")
	}
	if !path.IsAbs(dir) {
		dir = path.Join("/", cfg.WorkingDir, dir)
	}
	cfg.WorkingDir = path.Clean(dir)
	return nil
}

func addVolumes(cfg *v1.Config, vols []string) error {
	for _, v := range vols {
		if v == "" {
			return errors.New("VOLUME specified can not be an empty string")
		}
		// A relative volume could never be mounted (and `VOLUME ["/a"`,
		// bad JSON read as one word, is one).
		if !path.IsAbs(v) {
			return fmt.Errorf("invalid volume %q: mount path must be absolute", v)
		}
	}
	if cfg.Volumes == nil && len(vols) > 0 {
		cfg.Volumes = map[string]struct{}{}
	}
	for _, v := range vols {
		cfg.Volumes[v] = struct{}{}
	}
	return nil
}

// addExposedPorts adds ports as docker's EXPOSE: PORT[/PROTO] or a range
// START-END[/PROTO], one entry a port, tcp by default.
func addExposedPorts(cfg *v1.Config, ports []string) error {
	if len(ports) == 0 {
		return errors.New("EXPOSE requires at least one argument")
	}
	var keys []string
	for _, p := range ports {
		port, proto, ok := strings.Cut(p, "/")
		proto = strings.ToLower(proto)
		if !ok {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return fmt.Errorf("invalid proto: %s", proto)
		}
		start, end, err := portRange(port)
		if err != nil {
			return fmt.Errorf("invalid containerPort: %s", port)
		}
		for n := start; n <= end; n++ {
			keys = append(keys, strconv.Itoa(n)+"/"+proto)
		}
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	}
	for _, k := range keys {
		cfg.ExposedPorts[k] = struct{}{}
	}
	return nil
}

func portRange(s string) (int, int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil {
			return 0, 0, err
		}
	}
	if end < start {
		return 0, 0, errors.New("invalid range")
	}
	return int(start), int(end), nil
}

// checkSignal accepts what docker's STOPSIGNAL does: a number, or a name
// with or without SIG (RTMIN+n, RTMAX-n too).
func checkSignal(sig string) error {
	if n, err := strconv.Atoi(sig); err == nil && n > 0 {
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	if unix.SignalNum("SIG"+name) != 0 {
		return nil
	}
	for _, rt := range []string{"RTMIN", "RTMAX"} {
		if rest, ok := strings.CutPrefix(name, rt); ok {
			if rest == "" {
				return nil
			}
			if n, err := strconv.Atoi(rest[1:]); err == nil && n >= 1 && n <= 15 &&
				(rt == "RTMIN" && rest[0] == '+' || rt == "RTMAX" && rest[0] == '-') {
				return nil
			}
		}
	}
	return fmt.Errorf("Invalid signal: %s", sig)
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if name, _, _ := strings.Cut(e, "="); name == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}
