package commands

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(func() *cli.Command { return historyCommand("history") }) }

func historyCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "show the history of an image",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "human", Aliases: []string{"H"}, Value: true, Usage: "print sizes and dates in human readable format"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate output"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .ID .CreatedSince .CreatedAt .CreatedBy .Size .Comment"},
		},
		Action: runHistory,
	}
}

// historyRow is one line of history, with docker's template field names,
// in alphabetical order so that its JSON has docker's key order.
type historyRow struct {
	Comment      string
	CreatedAt    string
	CreatedBy    string
	CreatedSince string
	ID           string
	Size         string
}

// MarshalJSON keeps < and > escaped ("\u003cmissing\u003e") as docker's
// json.Marshal does.
func (r historyRow) MarshalJSON() ([]byte, error) {
	type plain historyRow
	return json.Marshal(plain(r))
}

var historyHeader = historyRow{ID: "IMAGE", CreatedSince: "CREATED", CreatedAt: "CREATED AT",
	CreatedBy: "CREATED BY", Size: "SIZE", Comment: "COMMENT"}

const historyTable = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"

func runHistory(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{1, fmt.Errorf(`"history" requires exactly 1 argument: skiff history [OPTIONS] IMAGE`)}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	img, err := findImage(s, c.Args().First())
	if err != nil {
		return &ExitError{1, daemonError(err)}
	}
	items, err := imageHistory(s, img)
	if err != nil {
		return &ExitError{1, err}
	}
	opt := historyOptions{human: c.Bool("human"), noTrunc: c.Bool("no-trunc"), now: time.Now()}
	format := c.String("format")
	switch {
	case c.Bool("quiet"):
		format = "{{.ID}}"
	case format == "json":
		format = "{{json .}}"
	case format == "" || format == "table":
		format = historyTable
	}
	rows := make([]historyRow, len(items))
	for i, h := range items {
		rows[i] = opt.row(h)
	}
	if err := printRows(os.Stdout, format, historyHeader, rows); err != nil {
		return &ExitError{1, err}
	}
	return nil
}

// historyItem is one step of an image's making, newest first: docker's
// HistoryResponseItem.
type historyItem struct {
	ID        string // the image this step made, "<missing>" when no local image is it
	Created   time.Time
	CreatedBy string
	Comment   string
	Size      int64 // the step's layer, 0 for a step that made none
}

// imageHistory is the image's config history, newest first, each step
// with the size of the layer it made. As docker: the newest step is the
// image itself, the ones below are the images it was built from while
// the store knows them, and the rest are <missing> (a pulled image's
// steps were made elsewhere).
func imageHistory(s *store.Store, img *store.Image) ([]historyItem, error) {
	var items []historyItem
	// A history that covers fewer layers than the image has (an image
	// made by a tool that wrote none for its base) describes the top ones:
	// counting from the bottom would give a step its base's size.
	layer := len(img.Layers)
	for _, h := range img.Config.History {
		if !h.EmptyLayer {
			layer--
		}
	}
	layer = max(layer, 0)
	for _, h := range img.Config.History {
		var size int64
		if !h.EmptyLayer {
			if layer >= len(img.Layers) {
				return nil, fmt.Errorf("image %s: its history names more layers than its rootfs has (%d)", shortid.Of(img.ID), len(img.Layers))
			}
			if info, err := s.LayerInfo(img.Layers[layer]); err == nil {
				size = info.Size
			}
			layer++
		}
		items = append([]historyItem{{ID: "<missing>", Created: h.Created.Time, CreatedBy: h.CreatedBy, Comment: h.Comment, Size: size}}, items...)
	}
	parents, err := build.BuiltParents(s.Root())
	if err != nil {
		return nil, err
	}
	id := img.ID
	for i := range items {
		items[i].ID = id
		parent, ok := parents[id]
		if !ok {
			break
		}
		if _, err := s.LookupImage(parent); err != nil {
			break
		}
		id = parent
	}
	return items, nil
}

// historyOptions are how a step is printed: -H, --no-trunc.
type historyOptions struct {
	human, noTrunc bool
	now            time.Time
}

// row is a step in docker's words: a 12-hex id, "3 weeks ago" or
// RFC 3339 (-H=false), the command on one line cut to 45 characters,
// "1.2MB" or bytes.
func (o historyOptions) row(h historyItem) historyRow {
	r := historyRow{ID: h.ID, Comment: h.Comment, CreatedAt: h.Created.Local().Format(time.RFC3339)}
	if !o.noTrunc && h.ID != "<missing>" {
		r.ID = shortid.Of(h.ID)
	}
	r.CreatedBy = strings.ReplaceAll(h.CreatedBy, "\t", " ")
	if !o.noTrunc {
		r.CreatedBy = ellipsis(r.CreatedBy, 45)
	}
	if o.human {
		r.CreatedSince = createdSince(h.Created, o.now)
		r.Size = units.HumanSizeWithPrecision(h.Size, 3)
	} else {
		r.CreatedSince = r.CreatedAt
		r.Size = strconv.FormatInt(h.Size, 10)
	}
	return r
}

// ellipsis cuts s to max characters, the last one "…", as docker's
// formatter does for long cells.
func ellipsis(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max-1]) + "…"
}
