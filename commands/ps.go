package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/state"
)

func init() { register(psCommand("ps")) }

func psCommand(name string, aliases ...string) *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
		&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
		&cli.StringFlag{Name: "format", Usage: `format output using a Go template ("table ..." adds a header)`},
		&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Value: -1, Usage: "show n last created containers (includes all states)"},
		&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "show the latest created container (includes all states)"},
		&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "not supported yet", Hidden: true},
	}
	flags = append(flags, listFlag("filter", []string{"f"}, "filter output: id=, name=, status=, exited=, ancestor=")...)
	return &cli.Command{
		Name:                   name,
		Aliases:                aliases,
		Usage:                  "list containers",
		Flags:                  flags,
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
	if c.Bool("size") {
		return &ExitError{Code: 1, Err: errors.New("ps: --size is not supported yet")}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	filter, err := parsePsFilters(listOf(c, "filter"))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	all, err := state.List(g.Paths.Root) // newest first
	if err != nil {
		return err
	}
	last := c.Int("last")
	if c.Bool("latest") {
		last = 1
	}
	var shown []*state.Container
	for _, ct := range all {
		if last >= 0 && len(shown) == last {
			break
		}
		if (c.Bool("all") || last >= 0 || ct.Status == state.Running || filter.has("status")) && filter.match(ct) {
			shown = append(shown, ct)
		}
	}
	format := c.String("format")
	if c.Bool("quiet") {
		format = "{{.ID}}"
	}
	return printPs(os.Stdout, format, shown, time.Now(), c.Bool("no-trunc"))
}

// psRow is one line of ps, with docker's --format field names.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names string
}

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

var psHeader = psRow{ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT",
	RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS", Names: "NAMES"}

func printPs(out io.Writer, format string, cs []*state.Container, now time.Time, noTrunc bool) error {
	if format == "" || format == "table" {
		format = psTable
	}
	rows := make([]psRow, len(cs))
	for i, ct := range cs {
		rows[i] = psRow{
			ID: containerID(ct.ID, noTrunc), Image: ct.Image, Command: command(ct, noTrunc),
			CreatedAt:  ct.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
			RunningFor: humanDuration(now.Sub(ct.Created)) + " ago",
			State:      string(ct.Status), Status: status(ct, now), Names: ct.Name,
		}
	}
	return printRows(out, format, psHeader, rows)
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

// psFilters are docker's --filter key=value pairs: values of one key are
// alternatives, different keys must all match.
type psFilters map[string][]string

func parsePsFilters(args []string) (psFilters, error) {
	f := psFilters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value): %s", a)
		}
		switch k {
		case "id", "name", "status", "exited", "ancestor":
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		if k == "name" {
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %w", v, err)
			}
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func (f psFilters) has(k string) bool { return len(f[k]) > 0 }

func (f psFilters) match(ct *state.Container) bool {
	for k, vals := range f {
		ok := false
		for _, v := range vals {
			ok = ok || matchOne(k, v, ct)
		}
		if !ok {
			return false
		}
	}
	return true
}

func matchOne(k, v string, ct *state.Container) bool {
	switch k {
	case "id":
		return strings.HasPrefix(ct.ID, v)
	case "name":
		// docker matches names as a regular expression (checked at parse time).
		return regexp.MustCompile(v).MatchString(ct.Name)
	case "status":
		return string(ct.Status) == v
	case "exited":
		return ct.Status == state.Exited && strconv.Itoa(ct.ExitCode) == v
	case "ancestor":
		return ct.Image == v || strings.HasPrefix(strings.TrimPrefix(ct.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
	}
	return false
}
