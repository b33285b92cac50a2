package build

// RUN: the command in a build container of the parent image, its output
// streamed as it comes, its filesystem changes one layer.

import (
	"context"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/skiff-dev/skiff/spec"
)

// RunError is a RUN whose command failed: docker's sentence.
type RunError struct {
	Argv []string
	Code int
}

func (e *RunError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", strings.Join(e.Argv, " "), e.Code)
}

func (e *executor) runStep(ctx context.Context, s *stageState, c *instructions.RunCommand) error {
	for _, f := range c.FlagsUsed {
		if f != "mount" && f != "network" {
			return fmt.Errorf("RUN --%s is not supported yet", f)
		}
	}
	argv, err := runArgv(s.cfg.Config.Shell, c)
	if err != nil {
		return err
	}
	inScope, proxies := e.runArgs(s)
	createdBy := strings.Join(argv, " ")
	if len(inScope) > 0 {
		createdBy = fmt.Sprintf("|%d %s %s", len(inScope), strings.Join(sortedArgs(inScope), " "), createdBy)
	}
	mounts, err := e.runMounts(ctx, s, c)
	if err != nil {
		return err
	}
	defer mounts.release()
	parts := append([]string{s.parentID(), "RUN", createdBy}, mounts.key...)
	if n := instructions.GetNetwork(c); n != instructions.NetworkDefault {
		parts = append(parts, "network "+n)
	}
	key := cacheKey(parts...)
	if e.cached(s, key) {
		return nil
	}
	env := unshadowed(append(append([]string(nil), inScope...), proxies...), s.cfg.Config.Env)
	env = append(env, mounts.env...)
	b, err := e.newContainer(s, argv, env, mounts.mounts, e.network(c))
	if err != nil {
		return err
	}
	defer b.remove()
	fmt.Fprintf(e.o.Out, " ---> Running in %s\n", b.ID()[:12])
	code, err := b.run(ctx, e.o.Out)
	if err != nil {
		return err
	}
	if code != 0 {
		return &RunError{Argv: argv, Code: code}
	}
	layer, err := b.layer(e.o.Images)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.o.Out, "Removing intermediate container %s\n", b.ID()[:12])
	return e.commit(s, createdBy, layer, key)
}

// network is the network c runs on (spec.Network*): its --network, else
// the build's.
func (e *executor) network(c *instructions.RunCommand) string {
	switch instructions.GetNetwork(c) {
	case instructions.NetworkHost:
		return spec.NetworkHost
	case instructions.NetworkNone:
		return spec.NetworkNone
	}
	return e.o.Network
}

// runArgv is a RUN's argv: the exec form as written, the shell form
// through the stage's SHELL; a heredoc's body is the shell's script (as
// BuildKit runs a simple heredoc), a heredoc within a longer command line
// is handed to the shell whole.
func runArgv(shell []string, c *instructions.RunCommand) ([]string, error) {
	cl := c.ShellDependantCmdLine
	commandLine := (&ConfigEditor{Config: &v1.Config{Shell: shell}}).commandLine
	if len(cl.Files) == 0 {
		return commandLine(cl), nil
	}
	if len(cl.CmdLine) != 1 || !cl.PrependShell {
		return nil, fmt.Errorf("parsing produced an invalid run command: %v", cl.CmdLine)
	}
	if h := parser.MustParseHeredoc(cl.CmdLine[0]); h != nil {
		data := cl.Files[0].Data
		if cl.Files[0].Chomp {
			data = parser.ChompHeredocContent(data)
		}
		if strings.HasPrefix(data, "#!") {
			data = shebangScript(cl.Files[0].Name, data)
		}
		cl.CmdLine = []string{data}
		return commandLine(cl), nil
	}
	var b strings.Builder
	b.WriteString(cl.CmdLine[0])
	for _, f := range cl.Files {
		b.WriteByte('\n')
		b.WriteString(f.Data)
		b.WriteString(f.Name)
	}
	cl.CmdLine = []string{b.String()}
	return commandLine(cl), nil
}

// unshadowed are the build args an ENV of the same name does not
// override: in a RUN, ENV wins over ARG, as docker's.
func unshadowed(args, env []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, kv := range args {
		if k, _, _ := strings.Cut(kv, "="); !set[k] {
			out = append(out, kv)
		}
	}
	return out
}

// shebangScript runs a heredoc that starts with "#!" as BuildKit does: as
// an executable file under /dev/pipes (the container's /dev is a tmpfs,
// so it is in no layer), run by its own interpreter.
func shebangScript(name, data string) string {
	if !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	end := "SKIFF_HEREDOC_END"
	for strings.Contains(data, end) {
		end += "_"
	}
	f := "/dev/pipes/" + path.Base("/"+name)
	return fmt.Sprintf("mkdir -p /dev/pipes && cat > %s <<'%s'\n%s%s\nchmod 755 %s && exec %s", f, end, data, end, f, f)
}
