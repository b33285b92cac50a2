package commands

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/state"
)

// prune is registered only in the container group: docker's top-level
// `prune` does not exist (system prune is another command).
func containerPruneCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
	}
	flags = append(flags, listFlag("filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")...)
	return &cli.Command{
		Name:  "prune",
		Usage: "remove all stopped containers",
		Flags: flags,
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) != 0 {
				return &ExitError{Code: 1, Err: errors.New(`"container prune" accepts no arguments: skiff container prune [OPTIONS]`)}
			}
			f, err := parsePruneFilters(listOf(c, "filter"), time.Now())
			if err != nil {
				return daemonError(err)
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			if !c.Bool("force") && !confirm(os.Stdin, os.Stdout, "WARNING! This will remove all stopped containers.") {
				return nil
			}
			return prune(g, f, os.Stdout)
		},
	}
}

// pruneFilter is docker's container prune filters: until (created before)
// and label / label! (all given must match / none may).
type pruneFilter struct {
	until     time.Time
	hasUntil  bool
	labels    []string
	notLabels []string
}

func parsePruneFilters(vals []string, now time.Time) (pruneFilter, error) {
	var f pruneFilter
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return f, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch {
		case k == "until":
			if f.hasUntil {
				return f, errors.New("more than one until filter specified")
			}
			t, err := parseLogTime(val, now)
			if err != nil || val == "" {
				return f, fmt.Errorf("invalid filter 'until=%s': want a timestamp, Unix time or duration (2013-01-02T13:23:37Z, 1700000000, 10m)", val)
			}
			f.until, f.hasUntil = t, true
		case k == "label":
			f.labels = append(f.labels, val)
		case k == "label!":
			f.notLabels = append(f.notLabels, val)
		default:
			return f, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return f, nil
}

func (f pruneFilter) match(ct *state.Container) bool {
	if f.hasUntil && !ct.Created.Before(f.until) {
		return false
	}
	for _, l := range f.labels {
		if !hasLabel(ct, l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if hasLabel(ct, l) {
			return false
		}
	}
	return true
}

// hasLabel: "key" matches any value, "key=value" that value only.
func hasLabel(ct *state.Container, l string) bool {
	k, want, hasValue := strings.Cut(l, "=")
	got, ok := ct.Config.Labels[k]
	return ok && (!hasValue || got == want)
}

// confirm asks docker's question and reads one line: only y or Y agrees;
// no stdin (EOF) is no.
func confirm(in io.Reader, out io.Writer, warning string) bool {
	fmt.Fprintf(out, "%s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(in).ReadString('\n')
	a := strings.TrimSpace(line)
	return a == "y" || a == "Y"
}

// prune removes every stopped (created or exited) container f matches, in
// docker's output. container.Store.Remove refuses one started meanwhile: it is skipped.
func prune(g *Globals, f pruneFilter, out io.Writer) error {
	all, err := g.Containers().List()
	if err != nil {
		return err
	}
	var deleted []string
	var space int64
	for _, ct := range all {
		if (ct.Status != state.Created && ct.Status != state.Exited) || !f.match(ct) {
			continue
		}
		size := int64(0)
		if dir, err := state.Dir(g.Paths.Root, ct.ID); err == nil {
			size = dirSize(filepath.Join(dir, "upper"))
		}
		_, err := g.Containers().Remove(ct.ID, false)
		switch {
		case errors.Is(err, container.ErrRunning), errors.Is(err, state.ErrNotFound):
			continue // started, or removed, since it was listed
		case err != nil:
			fmt.Fprintln(os.Stderr, "skiff: warning: prune:", err)
			continue
		}
		deleted = append(deleted, ct.ID)
		space += size
	}
	if len(deleted) > 0 {
		fmt.Fprintf(out, "Deleted Containers:\n%s\n\n", strings.Join(deleted, "\n"))
	}
	fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(space))
	return nil
}
