package build

// Executing a Plan as docker's classic builder does:
//
//  1. every stage the target needs, in Dockerfile order, starts from its
//     FROM: an image (found, else pulled), scratch, or an earlier stage's
//     result;
//  2. each instruction is expanded with the ARG and ENV values in force,
//     then looked up in the cache (parent image + expanded text + the
//     sources' checksum): a hit takes the stored image and runs nothing;
//  3. a miss runs it: metadata instructions change the config and history
//     only (an empty_layer image); RUN, COPY and ADD change the filesystem
//     of a build container (exec_container_linux.go), whose upper dir
//     becomes the step's one layer;
//  4. every step's result is an image (intermediate: hidden from images
//     without -a), so the next build finds it in the cache.
//
// Output is the classic builder's ("Step N/M : ...", " ---> Using
// cache", " ---> Running in <id>", " ---> <id>").

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/image"
	"github.com/skiff-dev/skiff/store"
)

// ExecOptions are what a build needs beyond its Plan.
type ExecOptions struct {
	Images     *store.Store
	Containers container.Store   // the build containers' own store (BuildContainers)
	Context    *Context          // nil: no context (a Dockerfile alone from stdin)
	ContextDir string            // the context's directory, for its symlinks' targets
	Labels     map[string]string // --label: a last LABEL step, as docker's classic builder
	NoCache    bool
	// Network is where RUN runs by default (build's --network):
	// spec.NetworkBridge (docker's "default"), spec.NetworkHost, or
	// spec.NetworkNone (loopback only); a RUN --network overrides it.
	// The caller has made the bridge (network.EnsureBridge) when it is
	// the bridge.
	Network string
	// Secrets are --secret's values by id, for RUN --mount=type=secret.
	Secrets map[string][]byte
	// Resolve finds an image by reference (FROM, COPY --from), pulling it
	// when missing, as run does (--pull: always).
	Resolve func(ctx context.Context, ref string) (*store.Image, error)
	// Epoch is SOURCE_DATE_EPOCH (nil: none): created times and layer
	// entries' mtimes clamped to it, as BuildKit does.
	Epoch *time.Time
	// Out gets the classic builder's progress and RUN's output
	// (io.Discard with -q).
	Out io.Writer
}

// Result is a finished build.
type Result struct {
	Image *store.Image
}

// StepError is a failed step: "Step 3/5 : RUN false" and why.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// executor is one build's state.
type executor struct {
	o     ExecOptions
	plan  *Plan
	total int
	done  map[*Stage]*stageState // finished stages, for FROM and COPY --from
	cur   *Stage                 // the stage being built
}

// stageState is a stage as built so far.
type stageState struct {
	img  *store.Image  // nil: scratch, nothing built on it yet
	cfg  v1.ConfigFile // the config the next step starts from
	args []string      // KEY=VALUE of the ARGs in scope, in declaration order
	// editor applies the stage's metadata instructions; it remembers a
	// CMD of this stage, which an ENTRYPOINT then keeps.
	editor ConfigEditor
}

// parentID is the cache's name for what a step builds on.
func (s *stageState) parentID() string {
	if s.img == nil {
		return "scratch"
	}
	return s.img.ID
}

// Execute runs plan and returns the last stage's image.
func Execute(ctx context.Context, plan *Plan, o ExecOptions) (*store.Image, error) {
	if plan.Escape == 0 {
		plan.Escape = '\\'
	}
	e := &executor{o: o, plan: plan, total: plan.Steps, done: map[*Stage]*stageState{}}
	if len(o.Labels) > 0 {
		e.total++
	}
	for _, step := range plan.MetaSteps {
		fmt.Fprintf(e.o.Out, "Step %d/%d : %s\n", step.N, e.total, step.Text)
	}
	var last *stageState
	for _, st := range plan.Stages {
		e.cur = st
		s, err := e.stage(ctx, st)
		if err != nil {
			return nil, err
		}
		e.done[st] = s
		last = s
	}
	if last == nil {
		return nil, errors.New("the Dockerfile has no stage to build")
	}
	if len(o.Labels) > 0 {
		if err := e.labelStep(last); err != nil {
			return nil, err
		}
	}
	if last.img == nil {
		// FROM scratch and nothing else: docker refuses such an image too.
		return nil, errors.New("no image was generated. Is your Dockerfile empty?")
	}
	return last.img, nil
}

// stage builds one stage, FROM first.
func (e *executor) stage(ctx context.Context, st *Stage) (*stageState, error) {
	var s *stageState
	for i, step := range st.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err // ctrl-c between steps (or during a COPY)
		}
		head := fmt.Sprintf("Step %d/%d : %s", step.N, e.total, step.Text)
		fmt.Fprintln(e.o.Out, head)
		var err error
		if i == 0 {
			if s, err = e.from(ctx, st); err == nil {
				err = e.onBuild(ctx, s)
			}
		} else {
			err = e.step(ctx, s, step)
		}
		if err != nil {
			return nil, &StepError{Step: fmt.Sprintf("step %d/%d", step.N, e.total), Err: err}
		}
	}
	return s, nil
}

// from starts a stage from its base: an earlier stage, scratch or an image.
func (e *executor) from(ctx context.Context, st *Stage) (*stageState, error) {
	if st.Platform != "" && !samePlatform(st.Platform) {
		return nil, fmt.Errorf("FROM --platform=%s: only this host's platform (linux/%s) can be built", st.Platform, runtime.GOARCH)
	}
	s := &stageState{}
	switch {
	case st.BaseStage != nil:
		prev, ok := e.done[st.BaseStage]
		if !ok {
			return nil, fmt.Errorf("stage %q is not built yet", st.Base)
		}
		s.img, s.cfg = prev.img, prev.cfg
	case strings.EqualFold(st.Base, "scratch"):
		s.cfg = image.ChildConfig(v1.ConfigFile{})
		s.cfg.Config.Env = []string{defaultPath}
		s.cfg.History = nil
	default:
		img, err := e.o.Resolve(ctx, st.Base)
		if err != nil {
			return nil, err
		}
		s.img, s.cfg = img, img.Config
	}
	if s.img != nil {
		fmt.Fprintf(e.o.Out, " ---> %s\n", shortImageID(s.img.ID))
	} else {
		fmt.Fprintln(e.o.Out, " ---> ")
	}
	return s, nil
}

// onBuild runs the base's ONBUILD triggers, as docker's FROM does, and
// drops them from the config: a grandchild does not inherit them.
func (e *executor) onBuild(ctx context.Context, s *stageState) error {
	triggers := s.cfg.Config.OnBuild
	if len(triggers) == 0 {
		return nil
	}
	s.cfg = image.ChildConfig(s.cfg)
	s.cfg.Config.OnBuild = nil
	word := "triggers"
	if len(triggers) == 1 {
		word = "trigger"
	}
	fmt.Fprintf(e.o.Out, "# Executing %d build %s\n", len(triggers), word)
	for _, t := range triggers {
		p, err := Parse([]byte("FROM scratch\n"+t+"\n"), "ONBUILD", ParseOptions{})
		if err != nil || len(p.Stages) != 1 || len(p.Stages[0].Steps) != 2 {
			return fmt.Errorf("ONBUILD trigger %q: %w", t, cmpErr(err, errors.New("not one instruction")))
		}
		if err := e.step(ctx, s, p.Stages[0].Steps[1]); err != nil {
			return fmt.Errorf("ONBUILD trigger %q: %w", t, err)
		}
	}
	return nil
}

func cmpErr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// defaultPath is the PATH docker gives a scratch stage's RUN.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// samePlatform reports whether a --platform value names this host's.
func samePlatform(p string) bool {
	p = strings.ToLower(p)
	os, arch, _ := strings.Cut(p, "/")
	arch, _, _ = strings.Cut(arch, "/")
	return os == "linux" && (arch == "" || arch == runtime.GOARCH)
}

// step runs one instruction after FROM.
func (e *executor) step(ctx context.Context, s *stageState, step Step) error {
	if err := Expand(step.Cmd, e.expandEnv(s), e.plan.Escape); err != nil {
		return err
	}
	switch c := step.Cmd.(type) {
	case *instructions.ArgCommand:
		e.arg(s, c)
	case *instructions.RunCommand:
		return e.runStep(ctx, s, c)
	case *instructions.CopyCommand:
		return e.copyStep(ctx, s, copyFrom(c))
	case *instructions.AddCommand:
		return e.copyStep(ctx, s, addFrom(c))
	case *instructions.WorkdirCommand:
		return e.workdirStep(s, c, metaText(c))
	}
	return e.applyMeta(s, step.Cmd, metaText(step.Cmd))
}

// expandEnv is what a step's words are expanded with: the config's ENV
// and the ARGs in scope (ENV wins, as docker's).
func (e *executor) expandEnv(s *stageState) []string {
	env := slices.Clone(s.args)
	return append(env, s.cfg.Config.Env...)
}

// arg declares ARGs (expanded already): the --build-arg value, else the
// default, else a predefined platform value. The values reach the RUNs
// that follow (and their cache keys), not the config.
func (e *executor) arg(s *stageState, c *instructions.ArgCommand) {
	for _, kv := range c.Args {
		if val, ok := e.argValue(kv); ok {
			s.args = setEnv(s.args, kv.Key, val)
		}
	}
}

// argValue is the value ARG kv takes in this build.
func (e *executor) argValue(kv instructions.KeyValuePairOptional) (string, bool) {
	if v, ok := e.plan.ArgValue(kv); ok {
		return v, true
	}
	if v, ok := platformArgs()[kv.Key]; ok {
		return v, true
	}
	return "", false
}

// platformArgs are the predefined platform ARGs, this host's.
func platformArgs() map[string]string {
	p := "linux/" + runtime.GOARCH
	return map[string]string{
		"TARGETPLATFORM": p, "TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "TARGETVARIANT": "",
		"BUILDPLATFORM": p, "BUILDOS": "linux", "BUILDARCH": runtime.GOARCH, "BUILDVARIANT": "",
	}
}

// runArgs are the build args a RUN sees: the ARGs in scope and the
// predefined proxy ones given with --build-arg.
func (e *executor) runArgs(s *stageState) (inScope, proxies []string) {
	for k, v := range e.plan.BuildArgs {
		if IsPredefinedArg(k) {
			proxies = append(proxies, k+"="+v)
		}
	}
	sort.Strings(proxies)
	return s.args, proxies
}

// commit makes the step's image: s's config with a history entry, plus
// layer (nil: an empty_layer step), recorded in the cache under key.
func (e *executor) commit(s *stageState, createdBy string, layer *store.LayerInfo, key string) error {
	key = e.epochKey(key)
	cfg := image.ChildConfig(s.cfg)
	h := v1.History{Created: cfg.Created, CreatedBy: createdBy, EmptyLayer: layer == nil}
	cfg.History = append(cfg.History, h)
	e.clampTimes(&cfg)
	img, err := image.Add(e.o.Images, s.img, cfg, layer, nil)
	if err != nil {
		return err
	}
	if err := recordCache(e.o.Images, key, img.ID, idOf(s.img)); err != nil {
		return err
	}
	s.img, s.cfg = img, img.Config
	fmt.Fprintf(e.o.Out, " ---> %s\n", shortImageID(img.ID))
	return nil
}

// cached takes the cache's image for key if there is one (not with
// --no-cache), and says so as docker does.
func (e *executor) cached(s *stageState, key string) bool {
	if e.o.NoCache {
		return false
	}
	img := lookupCache(e.o.Images, e.epochKey(key))
	if img == nil {
		return false
	}
	s.img, s.cfg = img, img.Config
	fmt.Fprintln(e.o.Out, " ---> Using cache")
	fmt.Fprintf(e.o.Out, " ---> %s\n", shortImageID(img.ID))
	return true
}

// labelStep is --label: a LABEL step after the last instruction.
func (e *executor) labelStep(s *stageState) error {
	keys := slices.Sorted(maps.Keys(e.o.Labels))
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%q=%q", k, e.o.Labels[k]))
	}
	text := "LABEL " + strings.Join(parts, " ")
	fmt.Fprintf(e.o.Out, "Step %d/%d : %s\n", e.total, e.total, text)
	cmd := &instructions.LabelCommand{}
	for _, k := range keys {
		cmd.Labels = append(cmd.Labels, instructions.KeyValuePair{Key: k, Value: e.o.Labels[k]})
	}
	if err := e.applyMeta(s, cmd, text); err != nil {
		return &StepError{Step: fmt.Sprintf("step %d/%d", e.total, e.total), Err: err}
	}
	return nil
}

// idOf is img's id, "" for none.
func idOf(img *store.Image) string {
	if img == nil {
		return ""
	}
	return img.ID
}

// shortImageID is docker's 12-hex form of an image id.
func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// sortedArgs is args sorted by name, as docker's "|N K=V" prefix shows them.
func sortedArgs(args []string) []string {
	out := slices.Clone(args)
	sort.Strings(out)
	return out
}
