package commands

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/volume"
)

// The `volume` group: docker's create, ls, inspect, rm and prune over
// volume.Store; which containers use a volume is container.Store's
// VolumeUsers (their records' mounts).
func init() { register(volumeGroupCommand) }

func volumeGroupCommand() *cli.Command {
	return &cli.Command{
		Name:  "volume",
		Usage: "manage volumes",
		Subcommands: []*cli.Command{
			volumeCreateCommand(),
			volumeInspectCommand(),
			volumeLsCommand(),
			volumePruneCommand(),
			volumeRmCommand(),
		},
	}
}

// volumes is the volume store at the global root.
func (g *Globals) volumes() volume.Store { return volume.Store{Root: g.Paths.Root} }

func volumeCreateCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: volume.DefaultDriver, Usage: "specify volume driver name (only local)"},
		&cli.StringFlag{Name: "name", Hidden: true, Usage: "specify volume name"},
	}
	flags = append(flags, listFlag("label", nil, "set metadata for a volume (KEY=VALUE)")...)
	flags = append(flags, listFlag("opt", []string{"o"}, "set driver specific options: type=none o=bind device=/path, or type=tmpfs device=tmpfs o=size=...")...)
	return &cli.Command{
		Name:      "create",
		Usage:     "create a volume",
		ArgsUsage: "[VOLUME]",
		Flags:     flags,
		Action:    volumeCreateAction,
	}
}

// volumeCreateAction prints the volume's name, a new one's 64 hex if none
// is given, as docker does.
func volumeCreateAction(c *cli.Context) error {
	name := c.String("name")
	switch {
	case c.NArg() > 1:
		return &ExitError{Code: 1, Err: errors.New(`"volume create" requires at most 1 argument: skiff volume create [OPTIONS] [VOLUME]`)}
	case c.NArg() == 1 && name != "" && name != c.Args().First():
		return &ExitError{Code: 1, Err: errors.New("conflicting options: either specify --name or provide positional arg, not both")}
	case c.NArg() == 1:
		name = c.Args().First()
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	v, err := g.volumes().Create(name, volume.CreateOptions{
		Driver: c.String("driver"), Labels: keyValues(listOf(c, "label")), Options: keyValues(listOf(c, "opt")),
	})
	if err != nil {
		return daemonError(err)
	}
	fmt.Println(v.Name)
	return nil
}

// keyValues is docker's map option: KEY=VALUE, a bare KEY is an empty
// value; never nil, so inspect shows {} as docker does for a CLI volume.
func keyValues(vals []string) map[string]string {
	m := make(map[string]string, len(vals))
	for _, kv := range vals {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func volumeInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "display detailed information on one or more volumes",
		ArgsUsage: "VOLUME [VOLUME...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{.Mountpoint}}'"},
		},
		Action: volumeInspectAction,
	}
}

// volumeDoc is docker's `volume inspect` document.
type volumeDoc struct {
	CreatedAt  string
	Driver     string
	Labels     map[string]string
	Mountpoint string
	Name       string
	Options    map[string]string
	Scope      string
}

func toVolumeDoc(v *volume.Volume) volumeDoc {
	return volumeDoc{CreatedAt: dockerTime(v.CreatedAt), Driver: v.Driver, Labels: v.Labels,
		Mountpoint: v.Mountpoint, Name: v.Name, Options: v.Options, Scope: "local"}
}

// volumeInspectAction prints what it finds, then one line per volume it
// did not find, exit 1 (as `inspect`).
func volumeInspectAction(c *cli.Context) error {
	return inspectEach(c, `"volume inspect" requires at least 1 argument: skiff volume inspect [OPTIONS] VOLUME [VOLUME...]`,
		func(g *Globals, ref string) (any, error, error) {
			v, err := g.volumes().Get(ref)
			switch {
			case errors.Is(err, volume.ErrNotFound):
				return nil, fmt.Errorf("No such volume: %s", ref), nil
			case err != nil:
				return nil, nil, err
			}
			return toVolumeDoc(v), nil, nil
		})
}

func volumeLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list volumes",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display volume names"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .Name .Driver .Scope .Mountpoint .Labels .Label \"KEY\" .Links .Size"},
		}, listFlag("filter", []string{"f"}, "filter output: dangling=true|false, driver=NAME, label=KEY[=VALUE], name=REGEXP")...),
		Action: volumeLsAction,
	}
}

// volumeRow is one line of `volume ls`, with docker's template field
// names in alphabetical order, so its JSON has docker's key order.
type volumeRow struct {
	Availability, Driver, Group, Labels, Links, Mountpoint, Name, Scope, Size, Status string

	labels map[string]string
}

// Label is docker's {{.Label "key"}}.
func (r volumeRow) Label(key string) string { return r.labels[key] }

var volumeHeader = volumeRow{Availability: "AVAILABILITY", Driver: "DRIVER", Group: "GROUP", Labels: "LABELS",
	Links: "LINKS", Mountpoint: "MOUNTPOINT", Name: "VOLUME NAME", Scope: "SCOPE", Size: "SIZE", Status: "STATUS"}

func volumeLsAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{Code: 1, Err: errors.New(`"volume ls" accepts no arguments: skiff volume ls [OPTIONS]`)}
	}
	f, err := parseVolumeFilters(listOf(c, "filter"), "dangling", "driver", "label", "name")
	if err != nil {
		return daemonError(err)
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	vs, err := g.volumes().List()
	if err != nil {
		return err
	}
	var users map[string][]string
	if f.has("dangling") {
		if users, err = g.Containers().VolumeUsers(); err != nil {
			return err
		}
	}
	var rows []volumeRow
	for _, v := range vs {
		if f.match(v, len(users[v.Name]) > 0) {
			rows = append(rows, volumeRow{Availability: "N/A", Driver: v.Driver, Group: "N/A", Labels: joinLabels(v.Labels),
				Links: "N/A", Mountpoint: v.Mountpoint, Name: v.Name, Scope: "local", Size: "N/A", Status: "N/A", labels: v.Labels})
		}
	}
	format := c.String("format")
	switch {
	case c.Bool("quiet"):
		format = "{{.Name}}"
	case format == "json":
		format = "{{json .}}" // docker's shorthand: one JSON object a line
	case format == "" || format == "table":
		format = "table {{.Driver}}\t{{.Name}}"
	}
	return printRows(os.Stdout, format, volumeHeader, rows)
}

// volumeFilters are docker's volume --filter key=value pairs: values of
// one key are alternatives, different keys must all match (label: all).
type volumeFilters map[string][]string

// parseVolumeFilters accepts the keys given, with docker's errors.
func parseVolumeFilters(args []string, keys ...string) (volumeFilters, error) {
	f := volumeFilters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		if !slices.Contains(keys, k) {
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		switch k {
		case "dangling", "all":
			if _, err := strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("invalid filter '%s=%s'", k, v)
			}
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %w", v, err)
			}
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

func (f volumeFilters) has(k string) bool { return len(f[k]) > 0 }

// match is docker's: name= a regular expression, driver= exact, label=
// KEY or KEY=VALUE (every one given), label! none of them, dangling= by
// whether a container uses the volume.
func (f volumeFilters) match(v *volume.Volume, used bool) bool {
	if f.has("name") && !anyOf(f["name"], func(p string) bool { return regexp.MustCompile(p).MatchString(v.Name) }) {
		return false
	}
	if f.has("driver") && !anyOf(f["driver"], func(d string) bool { return d == v.Driver }) {
		return false
	}
	for _, l := range f["label"] {
		if !volumeHasLabel(v, l) {
			return false
		}
	}
	for _, l := range f["label!"] {
		if volumeHasLabel(v, l) {
			return false
		}
	}
	if f.has("dangling") {
		dangling, _ := strconv.ParseBool(f["dangling"][len(f["dangling"])-1])
		if dangling == used {
			return false
		}
	}
	return true
}

func anyOf(vals []string, ok func(string) bool) bool {
	for _, v := range vals {
		if ok(v) {
			return true
		}
	}
	return false
}

// volumeHasLabel: "key" matches any value, "key=value" that value only.
func volumeHasLabel(v *volume.Volume, l string) bool {
	k, want, hasValue := strings.Cut(l, "=")
	got, ok := v.Labels[k]
	return ok && (!hasValue || got == want)
}
