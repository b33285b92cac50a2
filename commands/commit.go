package commands

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/pull"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(commitCommand()) }

func commitCommand() *cli.Command {
	cmd := &cli.Command{
		Name:      "commit",
		Usage:     "create a new image from a container's changes",
		ArgsUsage: "CONTAINER [REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "author", Aliases: []string{"a"}, Usage: `author (e.g. "John Hannibal Smith <hannibal@a-team.com>")`},
			&cli.StringFlag{Name: "message", Aliases: []string{"m"}, Usage: "commit message"},
			&cli.BoolFlag{Name: "pause", Aliases: []string{"p"}, Value: true, Usage: "pause the container during the commit"},
		},
		Action: runCommit,
	}
	// Verbatim: a JSON form holds commas that a StringSliceFlag would split on.
	cmd.Flags = append(cmd.Flags, listFlag("change", []string{"c"}, "apply a Dockerfile instruction to the image")...)
	return cmd
}

func runCommit(c *cli.Context) error {
	if c.NArg() < 1 || c.NArg() > 2 {
		return &ExitError{1, fmt.Errorf("commit: want CONTAINER [REPOSITORY[:TAG]], got %d arguments", c.NArg())}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	names, err := targetNames(c.Args().Get(1))
	if err != nil {
		return &ExitError{1, err}
	}
	ctr, err := run.Lookup(g.Paths.Root, g.Paths.RunRoot, c.Args().Get(0))
	if err != nil {
		return &ExitError{1, err}
	}
	parent, err := s.LookupImage(ctr.ImageID)
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: its image: %w", ctr.Name, err)}
	}
	cfg, err := childConfig(withContainerConfig(parent.Config, ctr.Config), listOf(c, "change"))
	if err != nil {
		return &ExitError{1, err}
	}
	cfg.Author = c.String("author")
	cfg.Container = ctr.ID
	cfg.History = append(cfg.History, v1.History{
		Created: cfg.Created, Author: cfg.Author, Comment: c.String("message"), CreatedBy: "skiff commit",
	})
	thaw := func() {}
	if c.Bool("pause") {
		if thaw, err = run.FreezeFor(ctr); err != nil {
			return &ExitError{1, err}
		}
	}
	layer, err := storeStream(s, func(w io.Writer) error { return run.WriteChanges(w, g.Paths.Root, ctr) })
	thaw()
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: %w", ctr.Name, err)}
	}
	img, err := pull.AddLayerImage(s, parent, cfg, layer, names)
	if err != nil {
		return &ExitError{1, fmt.Errorf("commit %s: %w", ctr.Name, err)}
	}
	fmt.Fprintln(c.App.Writer, img.ID)
	return nil
}

// targetNames is the canonical name:tag to tag a new image with (none if
// arg is empty: the image shows as <none>).
func targetNames(arg string) ([]string, error) {
	if arg == "" {
		return nil, nil
	}
	if strings.Contains(arg, "@") {
		return nil, fmt.Errorf("%s: refusing to create a tag with a digest reference", arg)
	}
	canon, err := pull.Normalize(arg)
	if err != nil {
		return nil, err
	}
	return []string{canon}, nil
}

// storeStream stores the layer tar that write produces, streamed through
// a pipe: no temporary tarball.
func storeStream(s *store.Store, write func(io.Writer) error) (*store.LayerInfo, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	layer, err := pull.StoreLayer(s, pr, os.Geteuid() != 0)
	pr.CloseWithError(errors.New("layer store gave up"))
	return layer, err
}

// withContainerConfig is the image config as the container ran it, which
// docker's commit starts from: its command, entrypoint, environment (less
// HOSTNAME, which every container gets anew), working dir, user, labels.
func withContainerConfig(img v1.ConfigFile, cc state.Config) v1.ConfigFile {
	cfg := img
	cfg.Config.Cmd, cfg.Config.Entrypoint = cc.Cmd, cc.Entrypoint
	if len(cc.Env) > 0 {
		cfg.Config.Env = slices.DeleteFunc(slices.Clone(cc.Env), func(e string) bool { return strings.HasPrefix(e, "HOSTNAME=") })
	}
	if cc.WorkingDir != "" && (cc.WorkingDir != "/" || img.Config.WorkingDir != "") {
		cfg.Config.WorkingDir = cc.WorkingDir
	}
	cfg.Config.User = cc.User
	// A container's config has no ONBUILD triggers (docker's create leaves
	// them out), so a commit keeps only those its -c changes add.
	cfg.Config.OnBuild = nil
	if len(cc.Labels) > 0 {
		cfg.Config.Labels = copyMap(img.Config.Labels)
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		maps.Copy(cfg.Config.Labels, cc.Labels)
	}
	return cfg
}

// childConfig is parent's config for a new image: creation time now, the
// -c changes applied, the container's own runtime fields dropped.
func childConfig(parent v1.ConfigFile, changes []string) (v1.ConfigFile, error) {
	cfg := parent
	cfg.Created = pull.Now()
	cfg.History = append([]v1.History(nil), parent.History...)
	cfg.Config.Env = append([]string(nil), parent.Config.Env...)
	cfg.Config.Labels = copyMap(parent.Config.Labels)
	cfg.Config.ExposedPorts = copySet(parent.Config.ExposedPorts)
	cfg.Config.Volumes = copySet(parent.Config.Volumes)
	cfg.Config.OnBuild = slices.Clone(parent.Config.OnBuild)
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	}
	for _, ch := range changes {
		if err := applyChange(&cfg.Config, ch); err != nil {
			return cfg, err
		}
	}
	// As docker's merge: a new ENTRYPOINT does not keep a CMD it was not
	// given with, which would become its arguments.
	if changed(changes, "ENTRYPOINT") && !changed(changes, "CMD") {
		cfg.Config.Cmd = nil
	}
	return cfg, nil
}

// changed reports whether one of the -c changes is the instruction word.
func changed(changes []string, word string) bool {
	for _, ch := range changes {
		if w, _, _ := strings.Cut(strings.TrimSpace(ch), " "); strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copySet(m map[string]struct{}) map[string]struct{} {
	if m == nil {
		return nil
	}
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

// applyChange applies one -c Dockerfile instruction to cfg. The
// instructions are those docker's commit and import accept.
func applyChange(cfg *v1.Config, change string) error {
	change = strings.TrimSpace(change)
	word, rest, _ := strings.Cut(change, " ")
	rest = strings.TrimSpace(rest)
	fail := func(err error) error { return fmt.Errorf("change %q: %w", change, err) }
	switch strings.ToUpper(word) {
	case "CMD", "ENTRYPOINT":
		argv, err := execOrShell(rest)
		if err != nil {
			return fail(err)
		}
		if strings.EqualFold(word, "CMD") {
			cfg.Cmd = argv
		} else {
			cfg.Entrypoint = argv
		}
	case "ENV":
		kv, err := keyValues(rest, true)
		if err != nil {
			return fail(err)
		}
		for _, p := range kv {
			cfg.Env = setEnv(cfg.Env, p[0], p[1])
		}
	case "LABEL":
		kv, err := keyValues(rest, false)
		if err != nil {
			return fail(err)
		}
		if cfg.Labels == nil && len(kv) > 0 {
			cfg.Labels = map[string]string{}
		}
		for _, p := range kv {
			cfg.Labels[p[0]] = p[1]
		}
	case "WORKDIR":
		if rest == "" {
			return fail(errors.New("WORKDIR needs a path"))
		}
		if !path.IsAbs(rest) {
			rest = path.Join("/", cfg.WorkingDir, rest)
		}
		cfg.WorkingDir = path.Clean(rest)
	case "USER", "STOPSIGNAL":
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return fail(fmt.Errorf("%s takes exactly one argument", strings.ToUpper(word)))
		}
		if strings.EqualFold(word, "USER") {
			cfg.User = rest
		} else {
			cfg.StopSignal = rest
		}
	case "EXPOSE":
		if err := expose(cfg, strings.Fields(rest)); err != nil {
			return fail(err)
		}
	case "VOLUME":
		vols, err := jsonOrFields(rest)
		if err != nil {
			return fail(err)
		}
		if cfg.Volumes == nil && len(vols) > 0 {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range vols {
			cfg.Volumes[v] = struct{}{}
		}
	case "ONBUILD":
		trigger, err := onBuildTrigger(rest)
		if err != nil {
			return fail(err)
		}
		cfg.OnBuild = append(cfg.OnBuild, trigger)
	default:
		return fmt.Errorf("change %q: %s is not a valid change command (want CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME or WORKDIR)", change, word)
	}
	return nil
}

// onBuildTrigger checks an ONBUILD instruction as docker's Dockerfile
// parser does and returns it as the image keeps it: the instruction
// after ONBUILD, as written, for a later build to run.
func onBuildTrigger(s string) (string, error) {
	word, _, _ := strings.Cut(s, " ")
	switch w := strings.ToUpper(word); w {
	case "":
		return "", errors.New("ONBUILD requires at least one argument")
	case "ONBUILD":
		return "", errors.New("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
	case "FROM", "MAINTAINER":
		return "", fmt.Errorf("%q isn't allowed as an ONBUILD trigger", w)
	case "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL",
		"RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR":
		return s, nil
	default:
		return "", fmt.Errorf("unknown instruction: %s", w)
	}
}

// execOrShell is a CMD/ENTRYPOINT argument: the JSON (exec) form, or the
// shell form run by /bin/sh -c.
func execOrShell(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(s), &argv); err == nil {
			return argv, nil
		}
		// Docker runs a malformed JSON form as a shell command, too.
	}
	if s == "" {
		return nil, errors.New("missing command")
	}
	return []string{"/bin/sh", "-c", s}, nil
}

func jsonOrFields(s string) ([]string, error) {
	if strings.HasPrefix(s, "[") {
		var l []string
		if err := json.Unmarshal([]byte(s), &l); err != nil {
			return nil, fmt.Errorf("bad JSON list: %w", err)
		}
		return l, nil
	}
	if f := strings.Fields(s); len(f) > 0 {
		return f, nil
	}
	return nil, errors.New("missing argument")
}

func expose(cfg *v1.Config, ports []string) error {
	if len(ports) == 0 {
		return errors.New("EXPOSE needs a port")
	}
	for _, p := range ports {
		port, proto, ok := strings.Cut(p, "/")
		if !ok {
			proto = "tcp"
		}
		if port == "" || strings.Trim(port, "0123456789-") != "" || (proto != "tcp" && proto != "udp" && proto != "sctp") {
			return fmt.Errorf("invalid port %q", p)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		cfg.ExposedPorts[port+"/"+strings.ToLower(proto)] = struct{}{}
	}
	return nil
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

// keyValues parses `K=V K2="V 2"` (quotes and backslashes as a shell's);
// with legacy set, `K V with spaces` is one pair, as Dockerfile's ENV.
func keyValues(s string, legacy bool) ([][2]string, error) {
	words, err := shellWords(s)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, errors.New("missing KEY=VALUE")
	}
	if first, _, _ := strings.Cut(s, " "); legacy && !strings.Contains(first, "=") {
		k, v, _ := strings.Cut(s, " ")
		return [][2]string{{k, strings.TrimSpace(v)}}, nil
	}
	var out [][2]string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", w)
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// shellWords splits s on blanks outside quotes; quotes are removed and a
// backslash escapes the next character (outside single quotes).
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quote := false, rune(0)
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, errors.New("unterminated quote or escape")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// imageComment is docker's image Comment: the -m of the commit or import
// that made the image, which its last history entry carries in any image
// format (docker's own config also repeats it at top level; OCI's has no
// such field).
func imageComment(h []v1.History) string {
	if len(h) == 0 {
		return ""
	}
	return h[len(h)-1].Comment
}
