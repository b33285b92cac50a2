package commands

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// completion prints a shell completion script made from the CLI itself:
// every verb, group and flag the binary has, so the script never lags the
// commands. Names (containers, images, volumes) are asked of skiff when
// the user presses tab, with the --root, --runroot and --config typed on
// that command line.
func init() { register(completionCommand) }

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (source <(skiff completion bash))",
		ArgsUsage: "bash|zsh|fish",
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return &ExitError{1, errors.New(`"completion" requires exactly 1 argument: skiff completion bash|zsh|fish`)}
			}
			specs := completionSpecs(c.App)
			switch c.Args().First() {
			case "bash":
				writeBashCompletion(c.App.Writer, specs)
			case "zsh":
				// zsh runs the bash function through its bashcompinit.
				fmt.Fprint(c.App.Writer, "#compdef skiff\nautoload -U +X bashcompinit && bashcompinit\n")
				writeBashCompletion(c.App.Writer, specs)
			case "fish":
				writeFishCompletion(c.App.Writer, specs)
			default:
				return &ExitError{1, fmt.Errorf("unsupported shell %q: want bash, zsh or fish", c.Args().First())}
			}
			return nil
		},
	}
}

// cmdSpec is what completion knows of one command path ("", "run",
// "container ls"): its subcommands, flags, the flags that take a value,
// and what its operands name.
type cmdSpec struct {
	path        string
	usage       string
	subs        []string
	flags       []string // "-a", "--all"
	valueFlags  []string
	kind        string // "container", "image", "volume" or "" (files)
	allOperands bool   // every operand is a kind, not only the first
}

// completionSpecs walks the app's commands, the root's spec first.
func completionSpecs(app *cli.App) []cmdSpec {
	root := cmdSpec{}
	addFlags(&root, append(slices.Clone(app.Flags), &cli.BoolFlag{Name: "version"}))
	subs, specs := commandSpecs("", app.Commands)
	root.subs = subs
	return append([]cmdSpec{root}, specs...)
}

// commandSpecs is the specs of cmds (by every name) and their subcommands,
// and the names they go by.
func commandSpecs(path string, cmds []*cli.Command) (names []string, specs []cmdSpec) {
	for _, c := range cmds {
		if c.Hidden {
			continue
		}
		for _, n := range append([]string{c.Name}, c.Aliases...) {
			names = append(names, n)
			s := cmdSpec{path: strings.TrimSpace(path + " " + n), usage: c.Usage}
			addFlags(&s, c.Flags)
			s.kind, s.allOperands = operandKind(c.ArgsUsage)
			subs, below := commandSpecs(s.path, c.Subcommands)
			s.subs = subs
			specs = append(append(specs, s), below...)
		}
	}
	return names, specs
}

// addFlags lists a command's flags by every name, -x or --long, and --help.
func addFlags(s *cmdSpec, flags []cli.Flag) {
	s.flags = append(s.flags, "--help")
	for _, f := range flags {
		for _, n := range f.Names() {
			spelled := "--" + n
			if len(n) == 1 {
				spelled = "-" + n
			}
			s.flags = append(s.flags, spelled)
			if takesValue(f) {
				s.valueFlags = append(s.valueFlags, spelled)
			}
		}
	}
	slices.Sort(s.flags)
	s.flags = slices.Compact(s.flags)
}

// operandKind reads a command's ArgsUsage ("CONTAINER [CONTAINER...]",
// "IMAGE [COMMAND] [ARG...]", "NAME|ID"): what its first operand names,
// and whether the others name the same.
func operandKind(usage string) (kind string, all bool) {
	first, _, _ := strings.Cut(strings.TrimPrefix(usage, "[OPTIONS] "), " ")
	switch {
	case strings.HasPrefix(first, "CONTAINER"):
		kind = "container"
	case strings.Contains(first, "IMAGE"), strings.HasPrefix(first, "NAME["):
		kind = "image"
	case strings.HasPrefix(first, "NAME|ID"):
		kind = "any"
	case strings.HasPrefix(first, "VOLUME"):
		kind = "volume"
	default:
		return "", false
	}
	return kind, strings.Contains(usage, "...]") && !strings.Contains(usage, "[ARG...]")
}

func writeBashCompletion(w io.Writer, specs []cmdSpec) {
	fmt.Fprint(w, `# skiff completion for bash: source <(skiff completion bash)

# __skiff_names lists the names of one kind, asking skiff with the global
# flags typed on the command line.
__skiff_names() {
	local kind=$1; shift
	case $kind in
	container|any) skiff "$@" ps -a --format '{{.Names}}' 2>/dev/null ;;
	esac
	case $kind in
	image|any) skiff "$@" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v '<none>' ;;
	volume) skiff "$@" volume ls -q 2>/dev/null ;;
	esac
}

# __skiff_spec sets subs, flags, vflags, kind and all for a command path.
__skiff_spec() {
	subs= flags= vflags= kind= all=
	case $1 in
`)
	for _, s := range specs {
		fmt.Fprintf(w, "\t%q) subs=%q flags=%q vflags=%q kind=%q all=%v ;;\n",
			s.path, strings.Join(s.subs, " "), strings.Join(s.flags, " "), strings.Join(s.valueFlags, " "), s.kind, s.allOperands)
	}
	fmt.Fprint(w, `	esac
}

_skiff() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmdpath= subs flags vflags kind all nargs=0 i w
	local -a globals=()
	__skiff_spec ""
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			if [[ $w != *=* && " $vflags " == *" $w "* ]]; then
				[[ -z $cmdpath ]] && globals+=("$w" "${COMP_WORDS[i+1]}")
				((i++))
			elif [[ -z $cmdpath && $w == --*=* ]]; then
				globals+=("$w")
			fi
			continue
		fi
		if [[ $nargs == 0 && " $subs " == *" $w "* ]]; then
			cmdpath="${cmdpath:+$cmdpath }$w"
			__skiff_spec "$cmdpath"
			continue
		fi
		((nargs++))
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	elif [[ $prev == -* && $prev != *=* && " $vflags " == *" $prev "* ]]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	elif [[ -n $subs && $nargs == 0 ]]; then
		COMPREPLY=($(compgen -W "$subs" -- "$cur"))
	elif [[ -n $kind && ( $nargs == 0 || $all == true ) ]]; then
		COMPREPLY=($(compgen -W "$(__skiff_names "$kind" "${globals[@]}")" -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

complete -F _skiff skiff
`)
}

func writeFishCompletion(w io.Writer, specs []cmdSpec) {
	fmt.Fprint(w, `# skiff completion for fish: skiff completion fish | source

# __skiff_vflags PATH...: the flags of a command path that take a value.
function __skiff_vflags
    switch "$argv"
`)
	for _, s := range specs {
		if len(s.valueFlags) > 0 {
			fmt.Fprintf(w, "    case %s\n        printf '%%s\\n' %s\n", fishQuote(s.path), strings.Join(s.valueFlags, " "))
		}
	}
	fmt.Fprint(w, `    end
end
# __skiff_scan words|globals: the words typed after skiff less flags and
# their values (the command path, then operands), or the global flags
# typed before the verb, for the name lookups.
function __skiff_scan
    set -l toks (commandline -opc)
    set -e toks[1]
    set -l words
    set -l globals
    set -l skip 0
    for tok in $toks
        if test $skip = 1
            set skip 0
            test -z "$words"; and set -a globals $tok
        else if string match -q -- '-*' $tok
            if not string match -q -- '*=*' $tok; and contains -- $tok (__skiff_vflags $words)
                set skip 1
                test -z "$words"; and set -a globals $tok
            else if test -z "$words"; and string match -q -- '--*=*' $tok
                set -a globals $tok
            end
        else
            set -a words $tok
        end
    end
    if test "$argv[1]" = globals
        string join \n -- $globals
    else
        string join \n -- $words
    end
end
# __skiff_at PATH...: the words typed are exactly PATH.
function __skiff_at
    set -l words (__skiff_scan words)
    test "$words" = "$argv"
end
# __skiff_in PATH...: the words typed start with PATH.
function __skiff_in
    set -l words (__skiff_scan words)
    test (count $words) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
end
complete -c skiff -f
`)
	names := map[string]string{
		"container": `(skiff (__skiff_scan globals) ps -a --format '{{.Names}}' 2>/dev/null)`,
		"image":     `(skiff (__skiff_scan globals) images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*')`,
		"volume":    `(skiff (__skiff_scan globals) volume ls -q 2>/dev/null)`,
	}
	names["any"] = names["container"] + " " + names["image"]
	for _, s := range specs {
		at := strings.TrimSpace("__skiff_at " + s.path)
		in := at // the root's flags are for before a verb only
		if s.path != "" {
			in = "__skiff_in " + s.path
		}
		for _, sub := range s.subs {
			fmt.Fprintf(w, "complete -c skiff -n %s -a %s\n", fishQuote(at), fishQuote(sub))
		}
		for _, f := range s.flags {
			opt := "-l " + strings.TrimPrefix(f, "--")
			if !strings.HasPrefix(f, "--") {
				opt = "-s " + strings.TrimPrefix(f, "-")
			}
			fmt.Fprintf(w, "complete -c skiff -n %s %s\n", fishQuote(in), opt)
		}
		switch {
		case s.kind != "" && s.allOperands:
			fmt.Fprintf(w, "complete -c skiff -n %s -a %s\n", fishQuote(in), fishQuote(names[s.kind]))
		case s.kind != "":
			fmt.Fprintf(w, "complete -c skiff -n %s -a %s\n", fishQuote(at), fishQuote(names[s.kind]))
		}
	}
}

// fishQuote is s in fish's double quotes, where only backslash, double
// quote and dollar are special.
func fishQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`).Replace(s) + `"`
}
