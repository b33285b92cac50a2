package commands

import (
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

func init() { register(execCommand) }

func execCommand() *cli.Command {
	fs := []cli.Flag{}
	fs = append(fs, listFlag("env", []string{"e"}, "set environment variables (VAR=value, or VAR to take ours)")...)
	fs = append(fs, listFlag("env-file", nil, "read environment variables from a file")...)
	fs = append(fs,
		&cli.BoolFlag{Name: "interactive", Aliases: []string{"i"}, Usage: "keep STDIN open"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "run the command in the background"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "username or UID (format: <name|uid>[:<group|gid>])"},
		&cli.StringFlag{Name: "workdir", Aliases: []string{"w"}, Usage: "working directory inside the container"},
		&cli.BoolFlag{Name: "privileged", Usage: "give extended privileges to the command (every capability; the container's seccomp filter stays)"},
		// docker's, refused with "not supported yet"; not in the help.
		&cli.StringFlag{Name: "detach-keys", Hidden: true},
	)
	return &cli.Command{
		Name:      "exec",
		Usage:     "execute a command in a running container",
		ArgsUsage: "CONTAINER COMMAND [ARG...]",
		Flags:     fs,
		// Flag errors exit 125 (cli.go), other refusals 1; 126/127 mean
		// the command could not run, anything else is the command's own.
		Action: execAction,
	}
}

func execAction(c *cli.Context) error {
	timeline.Mark("args")
	fail := func(code int, err error) error { return &ExitError{Code: code, Err: err} }
	switch {
	case c.IsSet("detach-keys"):
		return fail(1, errors.New("exec: --detach-keys is not supported yet"))
	case c.NArg() < 2:
		return fail(1, errors.New(`"exec" requires at least 2 arguments: skiff exec [OPTIONS] CONTAINER COMMAND [ARG...]`))
	}
	g, err := globals(c)
	if err != nil {
		return fail(1, err)
	}
	o := run.ExecOptions{
		Args: c.Args().Tail(),
		User: c.String("user"), Workdir: c.String("workdir"),
		Interactive: c.Bool("interactive"), Tty: c.Bool("tty"), Detach: c.Bool("detach"),
		Privileged: c.Bool("privileged"),
	}
	for _, name := range listOf(c, "env-file") {
		vals, err := readEnvFile(name)
		if err != nil {
			return fail(1, err)
		}
		o.Env = append(o.Env, vals...)
	}
	o.Env = append(o.Env, listOf(c, "env")...)
	if o.Interactive && o.Tty && !o.Detach && !term.IsTerminal(int(os.Stdin.Fd())) {
		// As docker: a missing container is reported first, then the
		// terminal, before anything starts in the container.
		if _, err := g.Containers().Lookup(c.Args().First()); err != nil {
			return execError(1, err)
		}
		return fail(1, errInputNotTTY)
	}
	if userns.Rootless() {
		if done, err := execInside(g, c.Args().First()); done {
			return err
		}
	}
	code, err := g.Containers().Exec(c.Args().First(), o)
	return execError(code, err)
}

// execInside is a rootless exec: outside the container's user namespace
// only its monitor can start a process that joins the container, so this
// command line runs there (where JoinedContainer names the container and
// the code below runs as root's). false: we are that CLI.
func execInside(g *Globals, ref string) (bool, error) {
	ct, err := g.Containers().Lookup(ref)
	switch joined := userns.JoinedContainer(); {
	case err != nil:
		return true, execError(1, err)
	case joined == ct.ID:
		return false, nil
	case joined != "":
		return true, &ExitError{Code: 125, Err: fmt.Errorf("exec: this skiff runs in container %s's user namespace, not in %s's", shortid.Of(joined), shortid.Of(ct.ID))}
	case ct.Status != state.Running:
		return true, execError(1, &run.NotRunningError{ID: ct.ID, Paused: ct.Status == state.Paused})
	}
	code, err := g.Containers().RunInside(ct, os.Args)
	if err != nil {
		return true, &ExitError{Code: code, Err: fmt.Errorf("exec: %w", err)}
	}
	return true, execError(code, nil)
}

// execError prints as docker does: lookup and state errors come from "the
// daemon" (exit 1), a process that could not start from the runtime.
func execError(code int, err error) error {
	var nr *run.NotRunningError
	var amb *state.AmbiguousError
	var se *run.StartError
	switch {
	case err == nil && code == 0:
		return nil
	case err == nil:
		return &ExitError{Code: code}
	case errors.Is(err, state.ErrNotFound), errors.As(err, &nr), errors.As(err, &amb):
		printError(daemonError(err))
		return &ExitError{Code: 1}
	case errors.As(err, &se):
		printError(fmt.Errorf("OCI runtime exec failed: exec failed: unable to start container process: %v: unknown", se.Err))
		return &ExitError{Code: se.Code}
	}
	return &ExitError{Code: code, Err: err}
}

func readEnvFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open env file: %w", err)
	}
	defer f.Close()
	return spec.ParseEnvFile(f, name)
}
