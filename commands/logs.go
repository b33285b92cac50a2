package commands

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/logfile"
	"github.com/skiff-dev/skiff/state"
)

func init() { register(logsCommand) }

func logsCommand() *cli.Command {
	return &cli.Command{
		Name:      "logs",
		Usage:     "fetch the logs of a container",
		ArgsUsage: "CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "follow log output until the container exits"},
			&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all", Usage: `number of lines to show from the end of the logs, or "all"`},
			&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}, Usage: "show timestamps"},
			&cli.StringFlag{Name: "since", Usage: "show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)"},
			&cli.StringFlag{Name: "until", Usage: "show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)"},
			&cli.BoolFlag{Name: "details", Usage: "show extra details (there are none: accepted for docker's scripts)"},
		},
		Action: logsAction,
	}
}

func logsAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 1 {
		return &ExitError{Code: 1, Err: fmt.Errorf(`"logs" requires exactly 1 argument: skiff logs [OPTIONS] CONTAINER`)}
	}
	o, err := logOptions(c, time.Now())
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	ct, err := g.Containers().Lookup(args[0])
	if err != nil {
		printError(daemonError(err))
		return &ExitError{Code: 1}
	}
	// The monitor writes the log for as long as it lives: once its lock is
	// free, nothing more will come.
	o.Exited = func() bool { return !state.MonitorAlive(g.Paths.RunRoot, ct.ID) }
	if err := logfile.Read(state.LogPath(g.Paths.Root, ct.ID), o, os.Stdout, os.Stderr); err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	return nil
}

func logOptions(c *cli.Context, now time.Time) (logfile.ReadOptions, error) {
	o := logfile.ReadOptions{Tail: -1, Timestamps: c.Bool("timestamps"), Follow: c.Bool("follow")}
	if t := c.String("tail"); t != "all" && t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return o, fmt.Errorf("invalid value for \"tail\": %q is not a number or \"all\"", t)
		}
		if n >= 0 {
			o.Tail = n
		}
	}
	var err error
	if o.Since, err = parseLogTime(c.String("since"), now); err != nil {
		return o, fmt.Errorf("invalid value for \"since\": %w", err)
	}
	if o.Until, err = parseLogTime(c.String("until"), now); err != nil {
		return o, fmt.Errorf("invalid value for \"until\": %w", err)
	}
	return o, nil
}

// logTimeLayouts are the absolute forms docker's --since/--until accept;
// those without a zone are local time, as docker reads them.
var logTimeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02Z07:00",
	"2006-01-02",
}

// parseLogTime reads docker's --since/--until: a timestamp, Unix seconds
// (with an optional fraction), or a duration back from now ("10m", "1h30m").
func parseLogTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if sec, frac, ok := unixSeconds(s); ok {
		return time.Unix(sec, frac), nil
	}
	for _, l := range logTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp, Unix time or duration (2013-01-02T13:23:37Z, 1700000000, 10m)", s)
}

// unixSeconds reads "1700000000" or "1700000000.5".
func unixSeconds(s string) (int64, int64, bool) {
	whole, frac, hasFrac := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	if !hasFrac {
		return sec, 0, true
	}
	if frac == "" || len(frac) > 9 {
		return 0, 0, false
	}
	ns, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return sec, ns, true
}
