package build

// A Dockerfile as a build plan: BuildKit's own parser and typed
// instructions (escape and syntax directives, line continuations, heredocs
// and docker's errors come with them), then what the classic builder adds
// on top: meta ARGs before the first FROM, stages by name, the stages a
// --target needs and the "Step N/M" numbering.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// ParseOptions are the command line's say in a parse.
type ParseOptions struct {
	BuildArgs map[string]*string // --build-arg K=V; nil value: K given without =, take it from the environment
	Target    string             // --target; "" = last stage
}

// Plan is a parsed Dockerfile reduced to what one build runs.
type Plan struct {
	Stages []*Stage // only the stages the target needs, in Dockerfile order
	// Steps is M of "Step N/M": as docker's classic builder counts, every
	// ARG before the first FROM and every instruction of the needed
	// stages, FROM included.
	Steps int
	// MetaArgs are the ARGs before the first FROM, not yet expanded; they
	// are steps 1..len(MetaArgs) (MetaSteps), the stages' steps follow.
	MetaArgs  []instructions.ArgCommand
	MetaSteps []Step
	// Escape is the file's escape token (the escape directive), for Expand.
	Escape rune
	// BuildArgs are the --build-arg values, those given without = taken
	// from the environment (dropped when it has none, as docker).
	BuildArgs map[string]string
	// GlobalArgs are the meta ARGs' values after expansion, a --build-arg
	// overriding a default: what FROM lines and `ARG NAME` without a value
	// inside a stage see.
	GlobalArgs map[string]string
	// Warnings are the parser's, as docker prints them on stderr before
	// the build ("[WARNING]: Empty continuation line found in: ...").
	Warnings []string
}

// Stage is one FROM and the instructions up to the next.
type Stage struct {
	Name      string // AS name, lower-cased; "" when unnamed
	Index     int    // position in the Dockerfile
	Base      string // FROM after expansion of meta ARGs: an image ref, "scratch", or a stage name
	BaseStage *Stage // the earlier stage Base names, else nil
	Platform  string // --platform after expansion of meta ARGs
	Steps     []Step // FROM first, then its instructions
}

// Step is one instruction of the build.
type Step struct {
	N    int    // 1-based over the whole build, for "Step N/M"
	Text string // as docker prints it after "Step N/M : " (the original line(s), continuations joined)
	// Cmd is BuildKit's typed instruction, not yet expanded; a stage's
	// first step is a *FromCommand.
	Cmd  instructions.Command
	Line int // first line of the instruction in the Dockerfile
}

// FromCommand is a FROM as a Step's Cmd: BuildKit keeps FROM as its
// instructions.Stage, which is not an instructions.Command.
type FromCommand struct {
	BaseName  string // as written, before meta ARG expansion
	Platform  string // --platform as written
	StageName string // AS name, lower-cased
	name      string // the instruction word as written
	code      string
	location  []parser.Range
	comments  []string
}

var _ instructions.Command = (*FromCommand)(nil)

// Name is the instruction's word as written, as BuildKit's commands.
func (c *FromCommand) Name() string { return c.name }

// Location is where the FROM is in the Dockerfile.
func (c *FromCommand) Location() []parser.Range { return c.location }

// Comments are the comment lines just above the FROM.
func (c *FromCommand) Comments() []string { return c.comments }

// String is the FROM line as written, as BuildKit's commands' String.
func (c *FromCommand) String() string { return c.code }

// Parse reads a Dockerfile; name is for errors, as docker's
// "Dockerfile:2: unknown instruction: FROBNICATE".
func Parse(dockerfile []byte, name string, o ParseOptions) (*Plan, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, locate(name, err)
	}
	p := &Plan{Escape: res.EscapeToken, BuildArgs: resolveBuildArgs(o.BuildArgs)}
	var warnings strings.Builder
	res.PrintWarnings(&warnings)
	p.Warnings = strings.FieldsFunc(warnings.String(), func(r rune) bool { return r == '\n' })
	all, err := p.readStages(res.AST, name)
	if err != nil {
		return nil, err
	}
	if err := p.resolveMetaArgs(name); err != nil {
		return nil, err
	}
	if err := p.resolveBases(all, name); err != nil {
		return nil, err
	}
	needed, err := neededStages(all, o.Target, p.GlobalArgs, p.Escape, name)
	if err != nil {
		return nil, err
	}
	p.Stages = needed
	p.number()
	return p, nil
}

// readStages turns the syntax tree into meta ARGs and stages, every
// instruction typed by BuildKit, and reports the first bad one with its
// line.
func (p *Plan) readStages(ast *parser.Node, name string) ([]*Stage, error) {
	var stages []*Stage
	for _, n := range ast.Children {
		v, err := instructions.ParseInstruction(n)
		if err != nil {
			return nil, locate(name, err)
		}
		switch c := v.(type) {
		case *instructions.Stage:
			st := &Stage{Name: c.Name, Index: len(stages), Platform: c.Platform}
			from := &FromCommand{BaseName: c.BaseName, Platform: c.Platform, StageName: c.Name,
				name: c.OrigCmd, code: c.SourceCode, location: c.Location, comments: c.Comments}
			st.Steps = append(st.Steps, newStep(n, from))
			stages = append(stages, st)
		case *instructions.ArgCommand:
			if len(stages) == 0 {
				p.MetaArgs = append(p.MetaArgs, *c)
				p.MetaSteps = append(p.MetaSteps, newStep(n, c))
				continue
			}
			stages[len(stages)-1].Steps = append(stages[len(stages)-1].Steps, newStep(n, c))
		case instructions.Command:
			if len(stages) == 0 {
				return nil, fmt.Errorf("%s:%d: no build stage in current context", name, n.StartLine)
			}
			stages[len(stages)-1].Steps = append(stages[len(stages)-1].Steps, newStep(n, c))
		default:
			return nil, fmt.Errorf("%s:%d: %T is not a command type", name, n.StartLine, v)
		}
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("%s: no build stage in current context", name)
	}
	return stages, nil
}

func newStep(n *parser.Node, cmd instructions.Command) Step {
	return Step{Text: strings.TrimSpace(n.Original), Cmd: cmd, Line: n.StartLine}
}

// locate is err as one line with the file and the line it names:
// "Dockerfile:2: unknown instruction: FROBNICATE".
func locate(name string, err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && len(le.Locations) > 0 && len(le.Locations[0]) > 0 {
		// BuildKit numbers a directive's error from 0 (the line before
		// it is counted); lines are 1-based.
		line := max(le.Locations[0][0].Start.Line, 1)
		return fmt.Errorf("%s:%d: %w", name, line, le.Unwrap())
	}
	return fmt.Errorf("%s: %w", name, err)
}

// resolveBuildArgs takes a --build-arg given without a value from the
// environment, and drops it when the environment has none, as docker.
func resolveBuildArgs(in map[string]*string) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		if v != nil {
			out[k] = *v
		} else if env, ok := os.LookupEnv(k); ok {
			out[k] = env
		}
	}
	return out
}

// resolveMetaArgs computes the meta ARGs' values in order: each default
// expanded with the ones before it, a --build-arg winning over it.
func (p *Plan) resolveMetaArgs(name string) error {
	p.GlobalArgs = map[string]string{}
	lex := shell.NewLex(p.Escape)
	for i, meta := range p.MetaArgs {
		for _, kv := range meta.Args {
			if v, ok := p.BuildArgs[kv.Key]; ok {
				p.GlobalArgs[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue
			}
			v, _, err := lex.ProcessWord(*kv.Value, argsEnv(p.GlobalArgs))
			if err != nil {
				return fmt.Errorf("%s:%d: ARG %s: %w", name, p.MetaSteps[i].Line, kv.Key, err)
			}
			p.GlobalArgs[kv.Key] = v
		}
	}
	return nil
}

// resolveBases expands each FROM with the meta ARGs and links it to the
// earlier stage it names, if any.
func (p *Plan) resolveBases(stages []*Stage, name string) error {
	lex := shell.NewLex(p.Escape)
	env := argsEnv(p.GlobalArgs)
	byName := map[string]*Stage{}
	for _, st := range stages {
		from := st.Steps[0].Cmd.(*FromCommand)
		at := fmt.Sprintf("%s:%d", name, st.Steps[0].Line)
		base, _, err := lex.ProcessWord(from.BaseName, env)
		if err != nil {
			return fmt.Errorf("%s: FROM %s: %w", at, from.BaseName, err)
		}
		if base == "" {
			return fmt.Errorf("%s: base name (%s) should not be blank", at, from.BaseName)
		}
		st.Base = base
		if st.Platform, _, err = lex.ProcessWord(from.Platform, env); err != nil {
			return fmt.Errorf("%s: FROM --platform=%s: %w", at, from.Platform, err)
		}
		st.BaseStage = byName[strings.ToLower(base)]
		if st.Name != "" {
			if _, dup := byName[st.Name]; dup {
				return fmt.Errorf("%s: %s stage name already used", at, st.Name)
			}
			byName[st.Name] = st
		}
	}
	return nil
}

// neededStages is the target stage and every stage it depends on, in
// Dockerfile order: a stage is needed when a needed stage builds FROM it
// or copies from it (COPY --from=name or index).
func neededStages(stages []*Stage, target string, globals map[string]string, escape rune, name string) ([]*Stage, error) {
	last := len(stages) - 1
	if target != "" {
		last = -1
		for i, st := range stages {
			if st.Name == strings.ToLower(target) {
				last = i
			}
		}
		if last < 0 {
			return nil, fmt.Errorf("failed to reach build target %s in Dockerfile", target)
		}
	}
	need := make([]bool, len(stages))
	need[last] = true
	// Dependencies point to earlier stages only, so one walk backwards
	// from the target sees every needed stage before its dependencies.
	for i := last; i >= 0; i-- {
		if !need[i] {
			continue
		}
		deps, err := stageDeps(stages, i, globals, escape, name)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			need[d] = true
		}
	}
	var out []*Stage
	for i, st := range stages {
		if need[i] {
			out = append(out, st)
		}
	}
	return out, nil
}

// stageDeps are the indexes of the earlier stages stage i uses: its
// base and its COPY --from and RUN --mount from= sources that name a stage
// (the others name images); a RUN --mount of a type skiff does not make is
// refused here, with its line. --from is expanded with the meta ARGs, the scope it can see
// before the stage runs.
func stageDeps(stages []*Stage, i int, globals map[string]string, escape rune, name string) ([]int, error) {
	st := stages[i]
	var deps []int
	if st.BaseStage != nil {
		deps = append(deps, st.BaseStage.Index)
	}
	lex := shell.NewLex(escape)
	for _, step := range st.Steps {
		for _, ref := range fromRefs(step.Cmd) {
			d, err := stageDep(stages, i, globals, lex, name, step, ref)
			if err != nil {
				return nil, err
			}
			if d >= 0 {
				deps = append(deps, d)
			}
		}
		if c, ok := step.Cmd.(*instructions.RunCommand); ok {
			if err := unsupportedMount(c); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", name, step.Line, err)
			}
		}
	}
	return deps, nil
}

// fromRefs are what a step's --from flags name: COPY --from, RUN
// --mount=...,from=.
func fromRefs(cmd instructions.Command) []string {
	var refs []string
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			refs = append(refs, c.From)
		}
	case *instructions.RunCommand:
		for _, m := range instructions.GetMounts(c) {
			if m.From != "" {
				refs = append(refs, m.From)
			}
		}
	}
	return refs
}

// stageDep is the index of the earlier stage ref names (-1: an image).
func stageDep(stages []*Stage, i int, globals map[string]string, lex *shell.Lex, name string, step Step, ref string) (int, error) {
	from, _, err := lex.ProcessWord(ref, argsEnv(globals))
	if err != nil {
		return -1, fmt.Errorf("%s:%d: %s --from=%s: %w", name, step.Line, strings.ToUpper(step.Cmd.Name()), ref, err)
	}
	if d, ok := stageRef(stages[:i], from); ok {
		return d, nil
	}
	if n, err := strconv.Atoi(from); err == nil && n >= i {
		return -1, fmt.Errorf("%s:%d: invalid from flag value %s: refers to current or later build stage", name, step.Line, from)
	}
	return -1, nil
}

// stageRef finds the stage a COPY --from names among the earlier stages:
// by name, or by index as docker allows.
func stageRef(earlier []*Stage, ref string) (int, bool) {
	if n, err := strconv.Atoi(ref); err == nil {
		return n, n >= 0 && n < len(earlier)
	}
	for _, st := range earlier {
		if st.Name != "" && st.Name == strings.ToLower(ref) {
			return st.Index, true
		}
	}
	return 0, false
}

// StageRef is the stage a COPY --from value names among the plan's
// stages built before stage (by name or index), or nil when it names an
// image. ref is expanded with the meta ARGs first, as the plan did to
// find the stages it needs.
func (p *Plan) StageRef(stage *Stage, ref string) *Stage {
	if expanded, _, err := shell.NewLex(p.Escape).ProcessWord(ref, argsEnv(p.GlobalArgs)); err == nil {
		ref = expanded
	}
	for _, st := range p.Stages {
		if st.Index >= stage.Index {
			break
		}
		if st.Name != "" && st.Name == strings.ToLower(ref) {
			return st
		}
		if n, err := strconv.Atoi(ref); err == nil && n == st.Index {
			return st
		}
	}
	return nil
}

// number gives every step of the plan its N: the meta ARGs first, then
// the needed stages' steps in order, as the classic builder prints them.
func (p *Plan) number() {
	n := 0
	for i := range p.MetaSteps {
		n++
		p.MetaSteps[i].N = n
	}
	for _, st := range p.Stages {
		for i := range st.Steps {
			n++
			st.Steps[i].N = n
		}
	}
	p.Steps = n
}

// argsEnv is a map of ARG values as the lexer's environment.
func argsEnv(args map[string]string) shell.EnvGetter {
	env := make([]string, 0, len(args))
	for k, v := range args {
		env = append(env, k+"="+v)
	}
	return shell.EnvsFromSlice(env)
}

// ArgValue is the value an ARG inside a stage gives its name: a
// --build-arg, else its own default (expanded by the caller), else, for
// an ARG without one, the meta ARG of that name. ok is false when the
// name is declared without any value.
func (p *Plan) ArgValue(kv instructions.KeyValuePairOptional) (value string, ok bool) {
	if v, given := p.BuildArgs[kv.Key]; given {
		return v, true
	}
	if kv.Value != nil {
		return *kv.Value, true
	}
	v, ok := p.GlobalArgs[kv.Key]
	return v, ok
}

// IsPredefinedArg reports whether name is one of docker's predefined
// build args (the proxy variables): usable without an ARG line, and kept
// out of the image's history.
func IsPredefinedArg(name string) bool {
	switch name {
	case "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
		"NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy":
		return true
	}
	return false
}

// ParseTriggers parses a base image's ONBUILD triggers into the
// instructions a build runs right after its FROM, as docker's builder;
// the triggers ONBUILD refuses (ONBUILD, FROM, MAINTAINER) are refused
// here too.
func ParseTriggers(triggers []string) ([]instructions.Command, error) {
	var cmds []instructions.Command
	for _, trigger := range triggers {
		res, err := parser.Parse(strings.NewReader(trigger))
		if err != nil {
			return nil, fmt.Errorf("ONBUILD %s: %w", trigger, unlocated(err))
		}
		for _, n := range res.AST.Children {
			switch w := strings.ToUpper(n.Value); w {
			case "ONBUILD":
				return nil, errors.New("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
			case "FROM", "MAINTAINER":
				return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger", w)
			}
			cmd, err := instructions.ParseCommand(n)
			if err != nil {
				return nil, fmt.Errorf("ONBUILD %s: %w", trigger, unlocated(err))
			}
			cmds = append(cmds, cmd)
		}
	}
	return cmds, nil
}
