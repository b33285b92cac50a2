package commands

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

func networkLsCommand() *cli.Command {
	return &cli.Command{
		Name:    "ls",
		Aliases: []string{"list"},
		Usage:   "list networks",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only display network IDs"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "do not truncate the output"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .ID .Name .Driver .Scope .IPv4 .IPv6 .Internal .Labels .Label \"KEY\" .CreatedAt"},
		}, listFlag("filter", []string{"f"}, "filter output: dangling=, driver=, id=, label=, name=, scope=, type=builtin|custom")...),
		Action: networkLsAction,
	}
}

// networkRow is one line of `network ls`, docker's field names in
// alphabetical order, so its JSON has docker's key order.
type networkRow struct {
	CreatedAt, Driver, ID, IPv4, IPv6, Internal, Labels, Name, Scope string

	labels map[string]string
}

// Label is docker's {{.Label "key"}}.
func (r networkRow) Label(key string) string { return r.labels[key] }

var networkHeader = networkRow{CreatedAt: "CREATED AT", Driver: "DRIVER", ID: "NETWORK ID", IPv4: "IPV4",
	IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", Name: "NAME", Scope: "SCOPE"}

func networkLsAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{Code: 1, Err: errors.New(`"network ls" accepts no arguments: skiff network ls [OPTIONS]`)}
	}
	f, err := parseNetworkFilters(listOf(c, "filter"))
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	all, err := allNetworks(g)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	var rows []networkRow
	for _, n := range all {
		if f.match(n, func() bool { return networkInUse(g, n) }) {
			rows = append(rows, toNetworkRow(n, c.Bool("no-trunc")))
		}
	}
	format := c.String("format")
	switch {
	case c.Bool("quiet"):
		format = "{{.ID}}"
	case format == "json":
		format = "{{json .}}"
	case format == "" || format == "table":
		format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
	}
	return printRows(os.Stdout, format, networkHeader, rows)
}

func toNetworkRow(n anyNetwork, noTrunc bool) networkRow {
	id := n.ID
	if !noTrunc {
		id = id[:12]
	}
	return networkRow{CreatedAt: n.Created.String(), Driver: n.Driver, ID: id, IPv4: "true", IPv6: "false",
		Internal: strconv.FormatBool(n.Internal), Labels: joinLabels(n.Labels), Name: n.Name, Scope: "local", labels: n.Labels}
}

// networkInUse is docker's opposite of dangling: a predefined network, or
// a user network with a member (a running container).
func networkInUse(g *Globals, n anyNetwork) bool {
	if n.user == nil {
		return true
	}
	members, err := g.userNetworks().Members(n.ID)
	return err != nil || len(members) > 0 // unreadable: not dangling, the safe answer
}

// networkFilters are docker's `network ls --filter`: values of one key are
// alternatives, keys must all match.
type networkFilters map[string][]string

// parseNetworkFilters checks the keys and values as docker's daemon does,
// in its words.
func parseNetworkFilters(args []string) (networkFilters, error) {
	f := networkFilters{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch k {
		case "driver", "id", "label", "scope":
		case "name":
			if _, err := regexp.Compile(v); err != nil {
				return nil, fmt.Errorf("invalid filter 'name=%s': %w", v, err)
			}
		case "type":
			if v != "builtin" && v != "custom" {
				return nil, fmt.Errorf("invalid filter: 'type'='%s'", v)
			}
		case "dangling":
			if len(f[k]) > 0 {
				return nil, errors.New(`got more than one value for filter key "dangling"`)
			}
			if v != "0" && v != "1" && v != "true" && v != "false" {
				return nil, errors.New(`invalid value for filter 'dangling', must be "true" (or "1"), or "false" (or "0")`)
			}
		default:
			return nil, fmt.Errorf("invalid filter '%s'", k)
		}
		f[k] = append(f[k], v)
	}
	return f, nil
}

// match says whether n passes every key; inUse (read only for dangling=)
// says whether it has containers.
func (f networkFilters) match(n anyNetwork, inUse func() bool) bool {
	for k, vals := range f {
		ok := false
		for _, v := range vals {
			ok = ok || matchNetwork(k, v, n, inUse)
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchNetwork is one filter value, as docker's: name= and id= a name, an
// id or a regular expression (an id prefix matches), driver= and scope=
// exact, label= a key or key=value.
func matchNetwork(k, v string, n anyNetwork, inUse func() bool) bool {
	switch k {
	case "driver":
		return n.Driver == v
	case "id":
		return matchesPattern(v, n.ID)
	case "name":
		return matchesPattern(v, n.Name)
	case "scope":
		return v == "local"
	case "type":
		return (v == "builtin") == (n.user == nil)
	case "label":
		return hasLabel(n.Labels, v)
	case "dangling":
		dangling := v == "true" || v == "1"
		return n.user != nil && dangling != inUse() || n.user == nil && !dangling
	}
	return false
}

// matchesPattern is docker's filters.Args.Match: equal, or the value as
// an unanchored regular expression (one that does not compile: no match).
func matchesPattern(pattern, s string) bool {
	if pattern == s {
		return true
	}
	re, err := regexp.Compile(pattern)
	return err == nil && re.MatchString(s)
}
