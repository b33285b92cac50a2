package build

// The metadata instructions: each changes the image config and adds a
// history entry (empty_layer), no container and no layer, as docker's.

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/skiff-dev/skiff/image"
)

// applyMeta applies the (expanded) metadata instruction cmd to s, from
// the cache when the same step on the same parent made the same config.
func (e *executor) applyMeta(s *stageState, cmd instructions.Command, text string) error {
	next := image.ChildConfig(s.cfg)
	if err := applyInstruction(&next, cmd, s.cmdSet); err != nil {
		return err
	}
	if _, ok := cmd.(*instructions.CmdCommand); ok {
		s.cmdSet = true
	}
	createdBy := "/bin/sh -c #(nop)  " + text
	cfgJSON, err := json.Marshal(next.Config)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	key := cacheKey(s.parentID(), createdBy, string(cfgJSON), next.Author)
	if e.cached(s, key) {
		return nil
	}
	s.cfg = next
	return e.commit(s, createdBy, nil, key)
}

// applyInstruction applies one metadata instruction to cfg.
// cmdSet: the stage has a CMD of its own so far, which an ENTRYPOINT keeps.
func applyInstruction(cfg *v1.ConfigFile, cmd instructions.Command, cmdSet bool) error {
	c := &cfg.Config
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range cmd.Env {
			c.Env = setEnv(c.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range cmd.Labels {
			c.Labels[kv.Key] = kv.Value
		}
	case *instructions.ExposeCommand:
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range cmd.Ports {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			c.ExposedPorts[strings.ToLower(p)] = struct{}{}
		}
	case *instructions.UserCommand:
		c.User = cmd.User
	case *instructions.WorkdirCommand:
		c.WorkingDir = workdir(c.WorkingDir, cmd.Path)
	case *instructions.EntrypointCommand:
		c.Entrypoint = commandLine(c.Shell, cmd.ShellDependantCmdLine)
		// As docker's: an ENTRYPOINT drops a CMD inherited from the base,
		// which would become its arguments; a CMD of this stage stays.
		if !cmdSet {
			c.Cmd = nil
		}
	case *instructions.CmdCommand:
		c.Cmd = commandLine(c.Shell, cmd.ShellDependantCmdLine)
	case *instructions.VolumeCommand:
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range cmd.Volumes {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("VOLUME specified can not be an empty string")
			}
			c.Volumes[v] = struct{}{}
		}
	case *instructions.ShellCommand:
		c.Shell = cmd.Shell
	case *instructions.StopSignalCommand:
		c.StopSignal = cmd.Signal
	case *instructions.HealthCheckCommand:
		h := cmd.Health
		c.Healthcheck = &v1.HealthConfig{
			Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries,
		}
	case *instructions.MaintainerCommand:
		cfg.Author = cmd.Maintainer
	case *instructions.OnbuildCommand:
		c.OnBuild = append(c.OnBuild, cmd.Expression)
	case *instructions.ArgCommand:
		// Values are the build's, not the image's.
	default:
		return fmt.Errorf("%s is not supported", strings.ToUpper(cmd.Name()))
	}
	return nil
}

// workdir is WORKDIR p taken relative to the current working dir.
func workdir(cur, p string) string {
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	if cur == "" {
		cur = "/"
	}
	return path.Join(cur, p)
}

// defaultShell is the shell of shell-form instructions without SHELL.
var defaultShell = []string{"/bin/sh", "-c"}

// commandLine is the argv of a RUN, CMD or ENTRYPOINT: the exec form as
// written, the shell form through the stage's SHELL.
func commandLine(shell []string, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return append([]string(nil), c.CmdLine...)
	}
	if len(shell) == 0 {
		shell = defaultShell
	}
	argv := append([]string(nil), shell...)
	return append(argv, strings.Join(c.CmdLine, " "))
}

// metaText is how a metadata step shows in its image's history, after
// expansion (the cache key's text part).
func metaText(cmd instructions.Command) string {
	word := strings.ToUpper(cmd.Name())
	switch cmd := cmd.(type) {
	case *instructions.EnvCommand:
		return word + " " + kvText(cmd.Env)
	case *instructions.LabelCommand:
		return word + " " + kvText(cmd.Labels)
	case *instructions.ExposeCommand:
		return word + " " + strings.Join(cmd.Ports, " ")
	case *instructions.UserCommand:
		return word + " " + cmd.User
	case *instructions.WorkdirCommand:
		return word + " " + cmd.Path
	case *instructions.EntrypointCommand:
		return word + " " + cmdText(cmd.ShellDependantCmdLine)
	case *instructions.CmdCommand:
		return word + " " + cmdText(cmd.ShellDependantCmdLine)
	case *instructions.VolumeCommand:
		return word + " " + jsonText(cmd.Volumes)
	case *instructions.ShellCommand:
		return word + " " + jsonText(cmd.Shell)
	case *instructions.StopSignalCommand:
		return word + " " + cmd.Signal
	case *instructions.HealthCheckCommand:
		b, _ := json.Marshal(cmd.Health)
		return word + " " + string(b)
	case *instructions.ArgCommand:
		var names []string
		for _, a := range cmd.Args {
			names = append(names, a.Key)
		}
		return word + " " + strings.Join(names, " ")
	case *instructions.MaintainerCommand:
		return word + " " + cmd.Maintainer
	case *instructions.OnbuildCommand:
		return word + " " + cmd.Expression
	}
	return word
}

func kvText(kvs instructions.KeyValuePairs) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

// cmdText is a command line as docker's history shows it: the exec form
// as JSON, the shell form as written.
func cmdText(c instructions.ShellDependantCmdLine) string {
	if c.PrependShell {
		return strings.Join(c.CmdLine, " ")
	}
	return jsonText(c.CmdLine)
}

func jsonText(v []string) string {
	b, _ := json.Marshal(v)
	return string(b)
}
