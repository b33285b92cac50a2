package commands

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

func init() { register(stopCommand()) }

// stopFlags are stop's, which restart shares.
func stopFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait before killing the container (default: its --stop-timeout, else 10)"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send (default: its --stop-signal or STOPSIGNAL, else SIGTERM)"},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:                   "stop",
		Usage:                  "stop one or more running containers",
		ArgsUsage:              "CONTAINER [CONTAINER...]",
		Flags:                  stopFlags(),
		UseShortOptionHandling: true,
		OnUsageError:           usageError1,
		Action: func(c *cli.Context) error {
			args, err := operands(c)
			if err != nil {
				return err
			}
			o, err := stopOptions(c)
			if err != nil {
				return err
			}
			return eachContainer(c, "stop", args, func(g *Globals, ref string) error {
				_, err := run.Stop(g.Paths.Root, g.Paths.RunRoot, ref, o)
				return err
			})
		},
	}
}

// stopOptions reads -t and -s, shared by stop and restart.
func stopOptions(c *cli.Context) (run.StopOptions, error) {
	var o run.StopOptions
	if c.IsSet("time") {
		t, err := parseInt(c.String("time"))
		if err != nil {
			return o, &ExitError{Code: 1, Err: fmt.Errorf("invalid argument %q for \"-t, --time\" flag: %w", c.String("time"), err)}
		}
		o.Timeout = &t
	}
	if s := c.String("signal"); s != "" {
		sig, err := run.ParseSignal(s)
		if err != nil {
			return o, &ExitError{Code: 1, Err: err}
		}
		o.Signal = sig
	}
	return o, nil
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// eachContainer runs fn for every CONTAINER argument and prints the name as
// given when it succeeds; failures are reported one line each, in docker's
// words, and the exit status is 1.
func eachContainer(c *cli.Context, verb string, args []string, fn func(g *Globals, ref string) error) error {
	if len(args) == 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%q requires at least 1 argument: skiff %s [OPTIONS] CONTAINER [CONTAINER...]", verb, verb)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range args {
		if err := fn(g, ref); err != nil {
			fmt.Fprintln(os.Stderr, "Error response from daemon:", err)
			failed = true
			continue
		}
		fmt.Println(ref)
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

// operands returns a verb's arguments after applying any flags written
// among them: docker's CLI takes `logs x -f` and `inspect x --format ...`,
// urfave stops parsing flags at the first argument. "--" ends the flags.
func operands(c *cli.Context) ([]string, error) {
	var out []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i+1:]...), nil
		}
		if len(a) < 2 || a[0] != '-' {
			out = append(out, a)
			continue
		}
		n, err := setFlag(c, a, args[i+1:])
		if err != nil {
			return nil, &ExitError{Code: 1, Err: fmt.Errorf("%s: %w (see 'skiff %s --help')", c.Command.Name, err, c.Command.Name)}
		}
		i += n
	}
	return out, nil
}

// setFlag applies one flag token (-f, --tail=5, --tail 5, -af) and says
// how many following arguments it consumed as its value.
func setFlag(c *cli.Context, tok string, rest []string) (int, error) {
	long := strings.HasPrefix(tok, "--")
	name, value, hasValue := strings.Cut(strings.TrimLeft(tok, "-"), "=")
	if !long && len(name) > 1 && !hasValue {
		// -af: a cluster of one-letter bools, or -n5: a letter and its value.
		if f := findFlag(c, name[:1]); f != nil && !isBool(f) {
			return 0, setAll(c, f, name[1:])
		}
		for _, r := range name {
			f := findFlag(c, string(r))
			if f == nil || !isBool(f) {
				return 0, fmt.Errorf("unknown shorthand flag: %q in %s", r, tok)
			}
			if err := setAll(c, f, "true"); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	f := findFlag(c, name)
	if f == nil {
		return 0, fmt.Errorf("unknown flag: %s", tok)
	}
	switch {
	case hasValue:
		return 0, setAll(c, f, value)
	case isBool(f):
		return 0, setAll(c, f, "true")
	case len(rest) == 0:
		return 0, fmt.Errorf("flag needs an argument: %s", tok)
	}
	return 1, setAll(c, f, rest[0])
}

// setAll sets f under each of its names: urfave keeps one value per name
// and copies between aliases only while parsing.
func setAll(c *cli.Context, f cli.Flag, value string) error {
	for _, n := range f.Names() {
		if err := c.Set(n, value); err != nil {
			return fmt.Errorf("invalid argument %q for --%s: %w", value, f.Names()[0], err)
		}
	}
	return nil
}

func findFlag(c *cli.Context, name string) cli.Flag {
	for _, f := range c.Command.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func isBool(f cli.Flag) bool {
	_, ok := f.(*cli.BoolFlag)
	return ok
}
