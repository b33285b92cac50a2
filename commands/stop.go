package commands

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
)

func init() { register(stopCommand) }

// stopFlags are stop's, which restart shares.
func stopFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "time", Aliases: []string{"t"}, Usage: "seconds to wait before killing the container (default: its --stop-timeout, else 10)"},
		&cli.StringFlag{Name: "signal", Aliases: []string{"s"}, Usage: "signal to send (default: its --stop-signal or STOPSIGNAL, else SIGTERM)"},
	}
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:      "stop",
		Usage:     "stop one or more running containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags:     stopFlags(),
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			o, err := stopOptions(c)
			if err != nil {
				return err
			}
			return eachContainer(c, "stop", args, func(g *Globals, ref string) error {
				_, err := g.Containers().Stop(ref, o)
				return err
			})
		},
	}
}

// stopOptions reads -t and -s, shared by stop and restart.
func stopOptions(c *cli.Context) (container.StopOptions, error) {
	var o container.StopOptions
	if c.IsSet("time") {
		t, err := parseInt(c.String("time"))
		if err != nil {
			return o, &ExitError{Code: 1, Err: fmt.Errorf("invalid argument %q for \"-t, --time\" flag: %w", c.String("time"), err)}
		}
		o.Timeout = &t
	}
	if s := c.String("signal"); s != "" {
		sig, err := container.ParseSignal(s)
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
			printError(daemonError(err))
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
