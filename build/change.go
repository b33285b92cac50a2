package build

// Dockerfile instructions as commit and import take them (-c/--change):
// the start of build's instruction handling, until the build issue puts it
// on BuildKit's parser.

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ApplyChanges applies the -c Dockerfile instructions to cfg in order. As
// docker's merge, a new ENTRYPOINT does not keep a CMD it was not given
// with, which would become its arguments.
func ApplyChanges(cfg *v1.Config, changes []string) error {
	for _, ch := range changes {
		if err := applyChange(cfg, ch); err != nil {
			return err
		}
	}
	if changed(changes, "ENTRYPOINT") && !changed(changes, "CMD") {
		cfg.Cmd = nil
	}
	return nil
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
