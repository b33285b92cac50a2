package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
)

func init() { register(searchCommand) }

func searchCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.IntFlag{Name: "limit", Value: 25, Usage: "max number of search results"},
		&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
		&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .Name .Description .StarCount .IsOfficial .IsAutomated"},
	}
	flags = append(flags, listFlag("filter", []string{"f"}, "filter output based on conditions provided: stars=N, is-official=BOOL, is-automated=BOOL")...)
	return &cli.Command{
		Name:      "search",
		Usage:     "search Docker Hub, or a registry's catalog (REGISTRY/TERM), for images",
		ArgsUsage: "TERM",
		Flags:     flags,
		Action:    runSearch,
	}
}

// searchRow is one line of search, with docker's template field names,
// in alphabetical order so that its JSON has docker's key order.
type searchRow struct {
	Description string
	IsAutomated string
	IsOfficial  string
	Name        string
	StarCount   string
}

func (r searchRow) MarshalJSON() ([]byte, error) {
	type plain searchRow
	return json.Marshal(plain(r))
}

var searchHeader = searchRow{Name: "NAME", Description: "DESCRIPTION", StarCount: "STARS", IsOfficial: "OFFICIAL", IsAutomated: "AUTOMATED"}

const searchTable = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}"

func runSearch(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{1, fmt.Errorf(`"search" requires exactly 1 argument: skiff search [OPTIONS] TERM`)}
	}
	limit := c.Int("limit")
	if limit < 1 || limit > 100 {
		return &ExitError{1, daemonError(fmt.Errorf("limit %d is outside the range of [1, 100]", limit))}
	}
	f, err := parseSearchFilters(listOf(c, "filter"))
	if err != nil {
		return &ExitError{1, daemonError(err)}
	}
	g, err := globals(c)
	if err != nil {
		return &ExitError{1, err}
	}
	found, err := registry.Search(context.Background(), c.Args().First(), registry.SearchOptions{Limit: limit, Insecure: g.InsecureRegistries})
	if err != nil {
		return &ExitError{1, daemonError(err)}
	}
	var rows []searchRow
	for _, r := range found {
		if f.keeps(r) {
			rows = append(rows, searchRowOf(r, c.Bool("no-trunc")))
		}
	}
	format := c.String("format")
	switch format {
	case "", "table":
		format = searchTable
	case "json":
		format = "{{json .}}"
	}
	if err := printRows(os.Stdout, format, searchHeader, rows); err != nil {
		return &ExitError{1, err}
	}
	return nil
}

// searchRowOf is a result in docker's words: the description on one line
// cut to 45 characters, "[OK]" for a yes.
func searchRowOf(r registry.SearchResult, noTrunc bool) searchRow {
	desc := strings.NewReplacer("\n", " ", "\r", " ").Replace(r.Description)
	if !noTrunc {
		desc = ellipsis(desc, 45)
	}
	ok := func(b bool) string {
		if b {
			return "[OK]"
		}
		return ""
	}
	return searchRow{Name: r.Name, Description: desc, StarCount: strconv.Itoa(r.StarCount),
		IsOfficial: ok(r.IsOfficial), IsAutomated: ok(r.IsAutomated)}
}

// searchFilter is docker's search filters: stars= at least that many,
// is-official= and is-automated= that answer.
type searchFilter struct {
	stars               int
	official, automated *bool
}

func parseSearchFilters(vals []string) (searchFilter, error) {
	var f searchFilter
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return f, fmt.Errorf("bad format of filter (expected name=value)")
		}
		switch k {
		case "stars":
			n, err := strconv.Atoi(val)
			if err != nil {
				return f, fmt.Errorf("invalid filter 'stars=%s'", val)
			}
			f.stars = max(f.stars, n)
		case "is-official", "is-automated":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return f, fmt.Errorf("invalid filter '%s=%s'", k, val)
			}
			if k == "is-official" {
				f.official = &b
			} else {
				f.automated = &b
			}
		default:
			return f, fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return f, nil
}

func (f searchFilter) keeps(r registry.SearchResult) bool {
	return r.StarCount >= f.stars &&
		(f.official == nil || *f.official == r.IsOfficial) &&
		(f.automated == nil || *f.automated == r.IsAutomated)
}
