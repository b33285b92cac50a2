package commands

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/pull"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(imagesCommand("images")) }

func imagesCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Aliases:   aliases,
		Usage:     "list images",
		ArgsUsage: "[REPOSITORY[:TAG]]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all images (skiff keeps no intermediate images, so the same as without)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate IDs"},
			&cli.BoolFlag{Name: "digests", Usage: "show digests"},
			&cli.StringFlag{Name: "format", Usage: "Go template: .Repository .Tag .ID .Digest .CreatedSince .CreatedAt .Size"},
		},
		Action: runImages,
	}
}

// imageRow is one line of `images`, with docker's template field names.
type imageRow struct {
	Repository   string
	Tag          string
	ID           string
	Digest       string
	CreatedSince string
	CreatedAt    string
	Size         string
}

// imageHeader names the columns for "table" formats.
var imageHeader = imageRow{"REPOSITORY", "TAG", "IMAGE ID", "DIGEST", "CREATED", "CREATED AT", "SIZE"}

func runImages(c *cli.Context) error {
	if c.NArg() > 1 {
		return &ExitError{1, fmt.Errorf("images: want at most one REPOSITORY[:TAG], got %d", c.NArg())}
	}
	_, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	imgs, err := s.Images()
	if err != nil {
		return &ExitError{1, err}
	}
	f, err := newRepoFilter(c.Args().First())
	if err != nil {
		return &ExitError{1, err}
	}
	rows := imageRows(imgs, f, c.Bool("no-trunc"), time.Now())
	if c.Bool("quiet") {
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.ID] {
				seen[r.ID] = true
				fmt.Println(r.ID)
			}
		}
		return nil
	}
	format := c.String("format")
	if format == "" {
		format = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		if c.Bool("digests") {
			format = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
		}
	}
	if err := printRows(os.Stdout, format, imageHeader, rows); err != nil {
		return &ExitError{1, err}
	}
	return nil
}

// repoFilter is `images REPO[:TAG]` on canonical names: a repository
// alone matches all its tags, as docker.
type repoFilter struct {
	repo, tag string // empty repo matches everything; empty tag any tag
}

func newRepoFilter(arg string) (repoFilter, error) {
	if arg == "" {
		return repoFilter{}, nil
	}
	canon, err := pull.Normalize(arg)
	if err != nil {
		return repoFilter{}, err
	}
	f := repoFilter{}
	f.repo, f.tag = splitRepoTag(canon)
	if _, tag := splitRepoTag(arg[strings.LastIndex(arg, "/")+1:]); tag == "" {
		f.tag = ""
	}
	return f, nil
}

func (f repoFilter) match(repo, tag string) bool {
	return f.repo == "" || repo == f.repo && (f.tag == "" || tag == f.tag)
}

// imageRows makes one row per tag; an image with no tag gets one row with
// TAG <none> (and REPOSITORY <none> unless it was pulled by digest).
func imageRows(imgs []*store.Image, f repoFilter, noTrunc bool, now time.Time) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		base := imageRow{
			ID:           shortID(img.ID),
			CreatedSince: createdSince(img.Created, now),
			CreatedAt:    img.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
			Size:         humanSize(img.Size),
		}
		if noTrunc {
			base.ID = img.ID
		}
		for _, t := range img.RepoTags {
			repo, tag := splitRepoTag(t)
			if !f.match(repo, tag) {
				continue
			}
			r := base
			r.Repository, r.Tag, r.Digest = store.ShortName(repo), tag, digestFor(img, repo)
			rows = append(rows, r)
		}
		if len(img.RepoTags) > 0 {
			continue
		}
		r := base
		r.Repository, r.Tag, r.Digest = "<none>", "<none>", "<none>"
		if len(img.RepoDigests) > 0 {
			repo, dg := splitRepoDigest(img.RepoDigests[0])
			r.Repository, r.Digest = store.ShortName(repo), dg
		}
		if f.repo == "" || len(img.RepoDigests) > 0 && f.tag == "" && f.match(strings.Split(img.RepoDigests[0], "@")[0], "") {
			rows = append(rows, r)
		}
	}
	return rows
}

// digestFor is the digest the image has in a repository.
func digestFor(img *store.Image, repo string) string {
	for _, d := range img.RepoDigests {
		if r, dg := splitRepoDigest(d); r == repo {
			return dg
		}
	}
	return "<none>"
}

// printRows renders rows with a Go template; a "table" prefix adds a header
// and aligns columns as docker does.
func printRows[T any](w io.Writer, format string, header T, rows []T) error {
	body, table := strings.CutPrefix(format, "table")
	if table {
		body = strings.TrimLeft(body, " ")
	}
	tmpl, err := goTemplate(body)
	if err != nil {
		return err
	}
	out := w
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)
		out = tw
		if err := execLine(out, tmpl, header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := execLine(out, tmpl, r); err != nil {
			return err
		}
	}
	if tw != nil {
		return tw.Flush()
	}
	return nil
}

// createdSince is docker's "2 weeks ago" (go-units HumanDuration).
func createdSince(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	return humanDuration(d) + " ago"
}

func humanDuration(d time.Duration) string {
	if s := int(d.Seconds()); s < 1 {
		return "Less than a second"
	} else if s == 1 {
		return "1 second"
	} else if s < 60 {
		return fmt.Sprintf("%d seconds", s)
	}
	if m := int(d.Minutes()); m == 1 {
		return "About a minute"
	} else if m < 60 {
		return fmt.Sprintf("%d minutes", m)
	}
	h := int(d.Hours() + 0.5)
	switch {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// humanSize is docker's decimal size with 3 significant digits ("4.26MB").
func humanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}
