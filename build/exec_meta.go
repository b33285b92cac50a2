package build

// The metadata instructions: each changes the image config and adds a
// history entry (empty_layer), no container and no layer, as docker's
// (WORKDIR too, unless it makes its directory: exec_workdir_linux.go).

import (
	"encoding/json"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/skiff-dev/skiff/image"
)

// applyMeta applies the (expanded) metadata instruction cmd to s, from
// the cache when the same step on the same parent made the same config.
func (e *executor) applyMeta(s *stageState, cmd instructions.Command, text string) error {
	next, createdBy, key, err := metaStep(s, cmd, text)
	if err != nil || e.cached(s, key) {
		return err
	}
	s.cfg = next
	return e.commit(s, createdBy, nil, key)
}

// metaStep is the config cmd makes of s's, its history line and its cache
// key (the parent, the line and the resulting config; extra parts mark a
// step whose result is more than the config).
func metaStep(s *stageState, cmd instructions.Command, text string, extra ...string) (next v1.ConfigFile, createdBy, key string, err error) {
	next = image.ChildConfig(s.cfg)
	if err := applyInstruction(&s.editor, &next, cmd); err != nil {
		return next, "", "", err
	}
	createdBy = "/bin/sh -c #(nop)  " + text
	cfgJSON, err := json.Marshal(next.Config)
	if err != nil {
		return next, "", "", fmt.Errorf("encode config: %w", err)
	}
	key = cacheKey(append([]string{s.parentID(), createdBy, string(cfgJSON), next.Author}, extra...)...)
	return next, createdBy, key, nil
}

// applyInstruction applies one metadata instruction to cfg through the
// stage's ConfigEditor (the one place an instruction changes a config,
// which remembers the stage's CMD for ENTRYPOINT); MAINTAINER and ARG,
// which it does not take, are the build's own.
func applyInstruction(ed *ConfigEditor, cfg *v1.ConfigFile, cmd instructions.Command) error {
	switch cmd := cmd.(type) {
	case *instructions.MaintainerCommand:
		cfg.Author = cmd.Maintainer
		return nil
	case *instructions.ArgCommand:
		return nil // values are the build's, not the image's
	}
	ed.Config = &cfg.Config
	return ed.Apply(cmd)
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
