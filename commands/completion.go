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
	local path= subs flags vflags kind all nargs=0 i w
	local -a globals=()
	__skiff_spec ""
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == -* ]]; then
			if [[ $w != *=* && " $vflags " == *" $w "* ]]; then
				[[ -z $path ]] && globals+=("$w" "${COMP_WORDS[i+1]}")
				((i++))
			elif [[ -z $path && $w == --*=* ]]; then
				globals+=("$w")
			fi
			continue
		fi
		if [[ $nargs == 0 && " $subs " == *" $w "* ]]; then
			path="${path:+$path }$w"
			__skiff_spec "$path"
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
function __skiff_path_is
    # the words typed after skiff, less flags, start with the given path
    set -l words (commandline -opc)[2..-1]
    set -l words (string match -v -- '-*' $words)
    test (count $words) -ge (count $argv); or return 1
    for i in (seq (count $argv))
        test "$words[$i]" = "$argv[$i]"; or return 1
    end
    test (count $words) -eq (count $argv); or test "$argv[-1]" != ""
end
function __skiff_at
    # exactly at the given path: no further word typed
    set -l words (commandline -opc)[2..-1]
    set -l words (string match -v -- '-*' $words)
    test "$words" = "$argv"
end
complete -c skiff -f
`)
	names := map[string]string{
		"container": `(skiff ps -a --format '{{.Names}}' 2>/dev/null)`,
		"image":     `(skiff images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | string match -v '*<none>*')`,
		"volume":    `(skiff volume ls -q 2>/dev/null)`,
	}
	names["any"] = names["container"] + " " + names["image"]
	for _, s := range specs {
		cond := fmt.Sprintf("__skiff_at %s", s.path)
		for _, sub := range s.subs {
			fmt.Fprintf(w, "complete -c skiff -n %q -a %q\n", cond, sub)
		}
		for _, f := range s.flags {
			opt := "-l " + strings.TrimPrefix(f, "--")
			if !strings.HasPrefix(f, "--") {
				opt = "-s " + strings.TrimPrefix(f, "-")
			}
			fmt.Fprintf(w, "complete -c skiff -n %q %s\n", "__skiff_path_is "+s.path, opt)
		}
		if s.kind != "" {
			fmt.Fprintf(w, "complete -c skiff -n %q -a %q\n", "__skiff_path_is "+s.path, names[s.kind])
		}
	}
}
