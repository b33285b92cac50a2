package commands

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/state"
)

func init() { register(psCommand("ps")) }

func psCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:    name,
		Aliases: aliases,
		Usage:   "list containers",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
		},
		UseShortOptionHandling: true,
		OnUsageError:           usageError1,
		Action:                 psAction,
	}
}

// usageError1 is usageError for verbs whose failures exit 1.
func usageError1(c *cli.Context, err error, sub bool) error {
	e := usageError(c, err, sub).(*ExitError)
	e.Code = 1
	return e
}

// psAction reads container records only: no store, no cgroups, so ps stays
// fast however many images there are.
func psAction(c *cli.Context) error {
	g, err := globals(c)
	if err != nil {
		return err
	}
	all, err := state.List(g.Paths.Root)
	if err != nil {
		return err
	}
	var shown []*state.Container
	for _, ct := range all {
		if c.Bool("all") || ct.Status == state.Running {
			shown = append(shown, ct)
		}
	}
	if c.Bool("quiet") {
		for _, ct := range shown {
			fmt.Println(containerID(ct.ID, c.Bool("no-trunc")))
		}
		return nil
	}
	return printPs(os.Stdout, shown, time.Now(), c.Bool("no-trunc"))
}

func printPs(out io.Writer, cs []*state.Container, now time.Time, noTrunc bool) error {
	w := tabwriter.NewWriter(out, 10, 1, 3, ' ', 0) // docker's table layout
	fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	for _, ct := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s ago\t%s\t\t%s\n",
			containerID(ct.ID, noTrunc), ct.Image, command(ct, noTrunc),
			humanDuration(now.Sub(ct.Created)), status(ct, now), ct.Name)
	}
	return w.Flush()
}

// containerID is docker's 12-hex CONTAINER ID unless --no-trunc.
func containerID(id string, noTrunc bool) string {
	if noTrunc || len(id) < 12 {
		return id
	}
	return id[:12]
}

func command(ct *state.Container, noTrunc bool) string {
	cmd := strings.Join(append(append([]string{}, ct.Config.Entrypoint...), ct.Config.Cmd...), " ")
	if !noTrunc {
		if r := []rune(cmd); len(r) > 20 {
			cmd = string(r[:19]) + "…"
		}
	}
	return strconv.Quote(cmd)
}

func status(ct *state.Container, now time.Time) string {
	switch ct.Status {
	case state.Running:
		return "Up " + humanDuration(now.Sub(ct.StartedAt))
	case state.Exited:
		if ct.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", ct.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", ct.ExitCode, humanDuration(now.Sub(ct.FinishedAt)))
	}
	return "Created"
}
