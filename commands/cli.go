package commands

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// docker's CLI (cobra over pflag) differs from urfave's (over Go's flag
// package) in ways scripts notice: flags may follow the arguments
// (`rmi IMG -f`), an unknown command or flag is one line with a pointer to
// --help, and flag errors exit 125. This file closes that gap before and
// around urfave's parsing, in one place for every verb.

// interspersedOff names the verbs whose flags end at the first argument:
// everything after run's IMAGE (exec's CONTAINER) is the container's
// command, as cobra's SetInterspersed(false) does for docker's. They are
// the container verbs, top-level or in the container group: `volume
// create NAME --label x` takes flags after its argument.
var interspersedOff = map[string]bool{"run": true, "create": true, "exec": true}

// usage is a command-line error: it exits with code after printing msg.
type usage struct {
	code int
	msg  string
}

// prepareArgs resolves the command path of args against app and returns
// args rewritten for urfave: `help VERB` becomes `VERB --help`, clusters of
// short flags are split, and a verb's flags are moved before its
// arguments. An unknown command or flag is returned as a usage error, in
// docker's words.
func prepareArgs(app *cli.App, args []string) ([]string, *usage) {
	if len(args) < 2 {
		return args, nil
	}
	globals := append(slices.Clone(app.Flags), cli.HelpFlag, cli.VersionFlag)
	out, rest, err := splitFlags(globals, nil, args[1:], true)
	if err != nil {
		return nil, flagUsage(err, "skiff --help")
	}
	out = append(args[:1:1], out...)
	cmds, path := app.Commands, []string{}
	for len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		if rest[0] == "help" { // help [VERB...]: that verb's help, as docker's
			rest = append(slices.Clone(rest[1:]), "--help")
			continue
		}
		cmd := findCommand(cmds, rest[0])
		if cmd == nil {
			name := strings.Join(append(path, rest[0]), " ")
			return nil, &usage{1, fmt.Sprintf("'%s' is not a skiff command.\nSee 'skiff --help'", name)}
		}
		path, out, rest = append(path, rest[0]), append(out, rest[0]), rest[1:]
		if len(cmd.Subcommands) > 0 {
			cmds = cmd.Subcommands
			continue
		}
		verb, err := verbArgs(cmd, rest, len(path) == 1 || path[0] == "container")
		if err != nil {
			return nil, flagUsage(err, "skiff "+strings.Join(path, " ")+" --help")
		}
		return append(out, verb...), nil
	}
	return append(out, rest...), nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}

// verbArgs puts a verb's flags (with their values) before its arguments,
// keeping each group's order; `--` keeps ending the flags.
func verbArgs(cmd *cli.Command, args []string, containerVerb bool) ([]string, error) {
	if cmd.SkipFlagParsing { // top CONTAINER [ps OPTIONS]: only --help is ours
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h") {
			cmd.SkipFlagParsing = false
			return args[:1], nil
		}
		return args, nil
	}
	fs := cmd.Flags
	if !cmd.HideHelp {
		fs = append(slices.Clone(fs), cli.HelpFlag)
	}
	stop := containerVerb && interspersedOff[cmd.Name]
	flags, operands, err := splitFlags(fs, cmd, args, stop)
	if err != nil {
		return nil, err
	}
	if !stop && slices.ContainsFunc(operands, func(a string) bool { return len(a) > 1 && a[0] == '-' }) {
		flags = append(flags, "--") // they came after a "--": keep them operands
	}
	return append(flags, operands...), nil
}

// splitFlags separates the flags of fs in args, one token per flag
// (-itn5 becomes -i -t -n 5), from the operands. With stop, the first
// operand ends the flags (a command line of its own follows); else flags
// may follow operands, as pflag's interspersed parsing allows. It returns
// docker's error for an unknown flag or a missing value.
func splitFlags(fs []cli.Flag, cmd *cli.Command, args []string, stop bool) (flags, operands []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--" && stop:
			return append(flags, a), args[i+1:], nil
		case a == "--":
			return flags, append(operands, args[i+1:]...), nil
		case len(a) < 2 || a[0] != '-':
			if stop {
				return flags, args[i:], nil
			}
			operands = append(operands, a)
			continue
		}
		toks, used, err := splitFlag(fs, cmd, a, args[i+1:])
		if err != nil {
			return nil, nil, err
		}
		flags, i = append(flags, toks...), i+used
	}
	return flags, operands, nil
}

// splitFlag turns one flag token into urfave's one-flag-per-token form and
// says how many of the following arguments it took as a value.
func splitFlag(fs []cli.Flag, cmd *cli.Command, a string, next []string) (toks []string, used int, err error) {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, hasValue := strings.Cut(name, "=")
		f := lookupFlag(fs, name)
		switch {
		case f == nil:
			return nil, 0, unknownFlag(cmd, name, a)
		case hasValue || !takesValue(f):
			return []string{a}, 0, nil
		case len(next) == 0:
			return nil, 0, errors.New("flag needs an argument: " + a)
		}
		return []string{a, next[0]}, 1, nil
	}
	cluster := a[1:]
	for j := 0; j < len(cluster); j++ {
		letter := cluster[j : j+1]
		f := lookupFlag(fs, letter)
		rest := cluster[j+1:]
		switch {
		case f == nil:
			return nil, 0, unknownFlag(cmd, letter, a)
		case strings.HasPrefix(rest, "="): // -n=5, -t=false
			return append(toks, "-"+letter+rest), used, nil
		case !takesValue(f):
			toks = append(toks, "-"+letter)
			continue
		case rest != "": // -n5
			return append(toks, "-"+letter, rest), used, nil
		case len(next) == 0:
			return nil, 0, fmt.Errorf("flag needs an argument: '%s' in %s", letter, a)
		}
		return append(toks, "-"+letter, next[0]), 1, nil
	}
	return toks, used, nil
}

// unsupportedFlag is a docker flag skiff does not have yet: said as such,
// with no pointer to the help, which does not list it.
type unsupportedFlag struct{ verb, flag string }

func (e unsupportedFlag) Error() string {
	return fmt.Sprintf("%s: --%s is not supported yet", e.verb, e.flag)
}

// unknownFlag is docker's error for a flag not in fs.
func unknownFlag(cmd *cli.Command, name, tok string) error {
	if cmd != nil && (cmd.Name == "run" || cmd.Name == "create") {
		if long, ok := unsupportedRunFlag(name); ok {
			return unsupportedFlag{cmd.Name, long}
		}
	}
	if strings.HasPrefix(tok, "--") {
		return errors.New("unknown flag: --" + name)
	}
	return fmt.Errorf("unknown shorthand flag: '%s' in %s", name, tok)
}

func lookupFlag(fs []cli.Flag, name string) cli.Flag {
	for _, f := range fs {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

func takesValue(f cli.Flag) bool {
	v, ok := f.(interface{ TakesValue() bool })
	return ok && v.TakesValue()
}

// flagError is every command's OnUsageError, for what urfave finds after
// prepareArgs (a value of the wrong type): docker's one line and a pointer
// to the verb's help, exit 125 (docker's CLI status for a flag error).
func flagError(c *cli.Context, err error, _ bool) error {
	u := flagUsage(errors.New(pflagWording(err.Error())), "skiff "+commandPath(c)+" --help")
	return &ExitError{Code: u.code, Err: errors.New(u.msg)}
}

// flagUsage is a flag error as docker's CLI prints it, exit 125.
func flagUsage(err error, help string) *usage {
	var u unsupportedFlag
	if errors.As(err, &u) {
		return &usage{125, err.Error()}
	}
	return &usage{125, fmt.Sprintf("%s\nSee '%s'.", err, help)}
}

// commandPath is the verb as typed: "ps", "container ls".
func commandPath(c *cli.Context) string {
	var names []string
	for _, x := range c.Lineage() {
		if x.Command != nil && x.Command.Name != "" && x.Command.Name != c.App.Name {
			names = append(names, x.Command.Name)
		}
	}
	slices.Reverse(names)
	return strings.Join(names, " ")
}

// pflagWording rewrites the Go flag package's errors in pflag's words,
// which docker users (and their scripts) know. Plain string work: a
// package-level regexp would be compiled in every skiff process, the
// container's init too.
func pflagWording(msg string) string {
	dashes := func(name string) string {
		if len(name) == 1 {
			return "-" + name
		}
		return "--" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		if len(name) == 1 {
			return fmt.Sprintf("unknown shorthand flag: '%s' in -%s", name, name)
		}
		return "unknown flag: --" + name
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		name = strings.TrimPrefix(name, "-")
		if len(name) == 1 {
			return fmt.Sprintf("flag needs an argument: '%s' in -%s", name, name)
		}
		return "flag needs an argument: --" + name
	}
	// invalid value "x" for flag -n: parse error (bools: invalid boolean value "x" for -n: ...)
	rest, ok := strings.CutPrefix(msg, "invalid value ")
	if !ok {
		rest, ok = strings.CutPrefix(msg, "invalid boolean value ")
	}
	if i := strings.LastIndex(rest, `" for `); ok && strings.HasPrefix(rest, `"`) && i > 0 {
		value, flagAndWhy := rest[1:i], strings.TrimPrefix(rest[i+len(`" for `):], "flag ")
		name, why, found := strings.Cut(strings.TrimLeft(flagAndWhy, "-"), ": ")
		if found {
			return fmt.Sprintf("invalid argument %q for \"%s\" flag: %s", value, dashes(name), why)
		}
	}
	return msg
}
