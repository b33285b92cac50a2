package commands

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(func() *cli.Command { return psCommand("ps") }) }

func psCommand(name string, aliases ...string) *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all containers (default shows just running)"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display container IDs"},
		&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
		&cli.StringFlag{Name: "format", Usage: `format output using a Go template ("table ..." adds a header)`},
		&cli.IntFlag{Name: "last", Aliases: []string{"n"}, Value: -1, Usage: "show n last created containers (includes all states)"},
		&cli.BoolFlag{Name: "latest", Aliases: []string{"l"}, Usage: "show the latest created container (includes all states)"},
		&cli.BoolFlag{Name: "size", Aliases: []string{"s"}, Usage: "display total file sizes"},
	}
	flags = append(flags, listFlag("filter", []string{"f"}, "filter output: id=, name=, status=, exited=, ancestor=, label=, before=, since=, health=, network=, volume=, publish=, expose=")...)
	return &cli.Command{
		Name:    name,
		Aliases: aliases,
		Usage:   "list containers",
		Flags:   flags,
		Action:  psAction,
	}
}

// psAction reads container records only: no store, no cgroups, so ps stays
// fast however many containers and images there are. Only a record whose
// process is gone or that waits to restart is reconciled (its monitor may
// be dead), and only -s opens the image store.
func psAction(c *cli.Context) error {
	g, err := globals(c)
	if err != nil {
		return err
	}
	filter, err := parsePsFilters(listOf(c, "filter"))
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	all, err := g.Containers().List() // newest first
	if err != nil {
		return err
	}
	if all, err = filter.window(all); err != nil {
		return &ExitError{Code: 1, Err: err}
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
		if ct.Orphaned || ct.Status == state.Restarting {
			// Its monitor may be dead (Reconcile), or recording the exit
			// right now (Lookup waits for the real code, never shows -1).
			if ct, err = g.Containers().Lookup(ct.ID); err != nil {
				continue // removed by its --rm, or gone meanwhile
			}
		}
		if (c.Bool("all") || last >= 0 || ct.Status.Up() || filter.has("status")) && filter.match(ct) {
			shown = append(shown, ct)
		}
	}
	format := c.String("format")
	if format == "json" {
		format = "{{json .}}" // docker's shorthand: one JSON object a line
	}
	if c.Bool("quiet") {
		format = "{{.ID}}"
	}
	var sizes map[string]string
	if c.Bool("size") || strings.Contains(format, ".Size") {
		sizes = containerSizes(g.Paths.Root, shown)
		if format == "" || format == "table" {
			format = psTable + "\t{{.Size}}"
		}
	}
	return printPs(os.Stdout, format, shown, time.Now(), c.Bool("no-trunc"), sizes)
}

// containerSizes is docker's SIZE column: what the container wrote, and
// with its image's size as "virtual".
func containerSizes(root string, cs []*state.Container) map[string]string {
	s, _ := store.Open(root)
	out := make(map[string]string, len(cs))
	for _, ct := range cs {
		rw, rootFs := containerSize(root, s, ct)
		out[ct.ID] = fmt.Sprintf("%s (virtual %s)", units.HumanSizeWithPrecision(rw, 3), units.HumanSizeWithPrecision(rootFs, 3))
	}
	return out
}

// containerSize is docker's SizeRw, what the container wrote (its overlay
// upper dir), and SizeRootFs, that plus its image's size (unknown when s
// is nil or the image is gone).
func containerSize(root string, s *store.Store, ct *state.Container) (rw, rootFs int64) {
	if dir, err := state.Dir(root, ct.ID); err == nil {
		rw = dirSize(filepath.Join(dir, "upper"))
	}
	rootFs = rw
	if s != nil {
		if img, err := s.LookupImage(ct.ImageID); err == nil {
			rootFs += img.Size
		}
	}
	return rw, rootFs
}

// dirSize sums the sizes of the regular files under dir, not following
// symlinks (the container's files may point anywhere).
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// psRow is one line of ps, with docker's --format field names.
type psRow struct {
	ID, Image, Command, CreatedAt, RunningFor, Ports, State, Status, Names string
	Labels, Size, Mounts, Networks, LocalVolumes                           string

	labels map[string]string
}

// Label is docker's {{.Label "key"}}.
func (r psRow) Label(key string) string { return r.labels[key] }

const psTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"

var psHeader = psRow{ID: "CONTAINER ID", Image: "IMAGE", Command: "COMMAND", CreatedAt: "CREATED AT",
	RunningFor: "CREATED", Ports: "PORTS", State: "STATE", Status: "STATUS", Names: "NAMES",
	Labels: "LABELS", Size: "SIZE", Mounts: "MOUNTS", Networks: "NETWORKS", LocalVolumes: "LOCAL VOLUMES"}

func printPs(out io.Writer, format string, cs []*state.Container, now time.Time, noTrunc bool, sizes map[string]string) error {
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
			Labels: joinLabels(ct.Config.Labels), Size: sizes[ct.ID], LocalVolumes: strconv.Itoa(localVolumes(ct)),
			Ports: displayPorts(containerPorts(ct)), Networks: strings.Join(containerNetworks(ct), ","),
			labels: ct.Config.Labels,
		}
	}
	return printRows(out, format, psHeader, rows)
}

// localVolumes is docker's LOCAL VOLUMES: how many volumes the container mounts.
func localVolumes(ct *state.Container) int {
	n := 0
	for _, m := range ct.Host.Mounts {
		if m.Type == "volume" {
			n++
		}
	}
	return n
}

// containerID is docker's 12-hex CONTAINER ID unless --no-trunc.
func containerID(id string, noTrunc bool) string {
	if noTrunc {
		return id
	}
	return shortid.Of(id)
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

// joinLabels is docker's .Labels: "k=v" pairs, sorted, comma-separated.
func joinLabels(m map[string]string) string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func status(ct *state.Container, now time.Time) string {
	switch ct.Status {
	case state.Running:
		return "Up " + humanDuration(now.Sub(ct.StartedAt))
	case state.Paused:
		return "Up " + humanDuration(now.Sub(ct.StartedAt)) + " (Paused)"
	case state.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", ct.ExitCode, humanDuration(now.Sub(ct.FinishedAt)))
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
		if err := checkPsFilter(k, v); err != nil {
			return nil, err
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// checkPsFilter rejects what docker's daemon rejects: unknown keys and
// values that cannot mean anything.
func checkPsFilter(k, v string) error {
	switch k {
	case "id", "ancestor", "label", "before", "since", "volume", "network", "isolation":
	case "name":
		if _, err := regexp.Compile(v); err != nil {
			return fmt.Errorf("invalid filter 'name=%s': %w", v, err)
		}
	case "status":
		if !validStatus[v] {
			return fmt.Errorf("invalid filter 'status=%s': want created, restarting, running, removing, paused, exited or dead", v)
		}
	case "exited":
		if _, err := strconv.Atoi(v); err != nil {
			return fmt.Errorf("invalid filter 'exited=%s': %w", v, err)
		}
	case "health":
		switch v {
		case "none", "starting", "healthy", "unhealthy":
		default:
			return fmt.Errorf("invalid filter 'health=%s': invalid value for health (%s): must be one of none, starting, healthy, unhealthy", v, v)
		}
	case "is-task":
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("invalid filter 'is-task=%s': want true or false", v)
		}
	case "publish", "expose":
		return checkPortFilter(k, v)
	default:
		return fmt.Errorf("invalid filter '%s'", k)
	}
	return nil
}

// checkPortFilter checks publish= and expose= as docker does: a port or a
// range of ports, with an optional protocol, and no host part.
func checkPortFilter(k, v string) error {
	if strings.Contains(v, ":") {
		return fmt.Errorf("filter for '%s' should not contain ':': %s", k, v)
	}
	ports, _, _ := strings.Cut(v, "/")
	start, end, isRange := strings.Cut(ports, "-")
	if !isRange {
		end = start
	}
	lo, err1 := strconv.ParseUint(start, 10, 16)
	hi, err2 := strconv.ParseUint(end, 10, 16)
	if err1 != nil || err2 != nil || lo > hi {
		return fmt.Errorf("error while looking up for %s %s: invalid port range", k, v)
	}
	return nil
}

// window is the part of the newest-first list that before= and since=
// leave, as docker's: the containers created before the one named by
// before=, and after the one named by since= (unless that one is newer
// than before=: docker's walk then never meets it).
func (f psFilters) window(all []*state.Container) ([]*state.Container, error) {
	lo, hi := 0, len(all)
	if f.has("before") {
		i, err := f.position("before", all)
		if err != nil {
			return nil, err
		}
		lo = i + 1
	}
	if f.has("since") {
		i, err := f.position("since", all)
		if err != nil {
			return nil, err
		}
		if i >= lo {
			hi = i
		}
	}
	return all[lo:hi], nil
}

// position finds the container that filter k names (its id, a unique id
// prefix or its name; the last value given wins, as docker's).
func (f psFilters) position(k string, all []*state.Container) (int, error) {
	vals := f[k]
	ref := strings.TrimPrefix(vals[len(vals)-1], "/")
	found, prefixes := -1, 0
	for i, ct := range all {
		if ct.ID == ref || ct.Name == ref {
			return i, nil
		}
		if ref != "" && strings.HasPrefix(ct.ID, ref) {
			found, prefixes = i, prefixes+1
		}
	}
	switch prefixes {
	case 0:
		return -1, daemonError(&state.NotFoundError{Ref: ref})
	case 1:
		return found, nil
	}
	return -1, daemonError(&state.AmbiguousError{Ref: ref})
}

// validStatus are docker's status= values, including those skiff never shows.
var validStatus = map[string]bool{"created": true, "restarting": true, "running": true,
	"removing": true, "paused": true, "exited": true, "dead": true}

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
	case "label":
		// label=key matches any value, label=key=value that value only.
		k, want, hasValue := strings.Cut(v, "=")
		got, ok := ct.Config.Labels[k]
		return ok && (!hasValue || got == want)
	case "ancestor":
		return ct.Image == v || strings.HasPrefix(strings.TrimPrefix(ct.ImageID, "sha256:"), strings.TrimPrefix(v, "sha256:"))
	case "health":
		// skiff runs no health checks yet: every container's health is
		// docker's "none".
		return v == "none"
	case "network":
		// docker: the network's name, or a prefix of its id.
		return onNetwork(ct, v)
	case "publish", "expose":
		return matchPortFilter(k, v, containerPorts(ct))
	case "is-task":
		task, _ := strconv.ParseBool(v) // a swarm task: never
		return !task
	case "volume":
		return usesMount(ct, v)
	case "before", "since", "isolation":
		// before/since cut the list in psAction; isolation is Windows'.
		return true
	}
	return false
}

// matchPortFilter is docker's publish= and expose=: a host port (publish)
// or a container port (expose) of the running container's ports in the
// filter's port or range, tcp unless the filter names a protocol.
func matchPortFilter(k, v string, ports []containerPort) bool {
	spec, proto, _ := strings.Cut(v, "/")
	if proto == "" {
		proto = "tcp"
	}
	start, end, isRange := strings.Cut(spec, "-")
	if !isRange {
		end = start
	}
	lo, _ := strconv.ParseUint(start, 10, 16) // checked by checkPortFilter
	hi, _ := strconv.ParseUint(end, 10, 16)
	for _, p := range ports {
		n := p.Private
		if k == "publish" {
			n = p.Public
		}
		if p.Proto == proto && uint64(n) >= lo && uint64(n) <= hi {
			return true
		}
	}
	return false
}

// usesMount is docker's volume= filter: a mount's volume name (a bind's
// source, which docker keys it by), or its destination in the container.
func usesMount(ct *state.Container, v string) bool {
	for _, m := range ct.Host.Mounts {
		if m.Name != "" && m.Name == v || m.Name == "" && m.Source != "" && m.Source == v || m.Destination == v {
			return true
		}
	}
	return false
}
