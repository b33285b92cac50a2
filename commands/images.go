package commands

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func init() { register(func() *cli.Command { return imagesCommand("images") }) }

func imagesCommand(name string, aliases ...string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Aliases:   aliases,
		Usage:     "list images",
		ArgsUsage: "[REPOSITORY[:TAG]]",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "only show image IDs"},
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "show all images (default hides intermediate images)"},
			&cli.BoolFlag{Name: "no-trunc", Usage: "don't truncate IDs"},
			&cli.BoolFlag{Name: "digests", Usage: "show digests"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .Repository .Tag .ID .Digest .CreatedSince .CreatedAt .Size .Containers .VirtualSize .SharedSize .UniqueSize"},
		}, listFlag("filter", []string{"f"}, "filter output: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE, label=KEY[=VALUE]")...),
		Action: runImages,
	}
}

// imageRow is one line of `images`, with docker's template field names;
// they are in alphabetical order so that its JSON has docker's key order.
type imageRow struct {
	Containers   string
	CreatedAt    string
	CreatedSince string
	Digest       string
	ID           string
	Repository   string
	SharedSize   string
	Size         string
	Tag          string
	UniqueSize   string
	VirtualSize  string
}

// MarshalJSON is the row as docker's --format json prints it: with < and >
// escaped ("\u003cnone\u003e"), as docker's json.Marshal leaves them.
func (r imageRow) MarshalJSON() ([]byte, error) {
	type plain imageRow // without this method
	return json.Marshal(plain(r))
}

// imageHeader names the columns for "table" formats.
var imageHeader = imageRow{
	Repository: "REPOSITORY", Tag: "TAG", ID: "IMAGE ID", Digest: "DIGEST", CreatedSince: "CREATED",
	CreatedAt: "CREATED AT", Size: "SIZE", Containers: "CONTAINERS", VirtualSize: "SIZE",
	SharedSize: "SHARED SIZE", UniqueSize: "UNIQUE SIZE",
}

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
	if !c.Bool("all") {
		if imgs, err = withoutIntermediate(s, imgs); err != nil {
			return &ExitError{1, err}
		}
	}
	f, err := parseImageFilters(s, c.Args().First(), listOf(c, "filter"))
	if err != nil {
		return err
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
	if format == "json" {
		format = "{{json .}}" // docker's shorthand: one JSON object a line
	}
	if format == "" || format == "table" {
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

// withoutIntermediate leaves out the untagged images a build made others
// from (its intermediate steps), as docker's images does without -a.
func withoutIntermediate(s *store.Store, imgs []*store.Image) ([]*store.Image, error) {
	parents, err := build.BuiltParents(s.Root())
	if err != nil || len(parents) == 0 {
		return imgs, err
	}
	present := map[string]bool{}
	for _, img := range imgs {
		present[img.ID] = true
	}
	hidden := map[string]bool{}
	for child, parent := range parents {
		if present[child] {
			hidden[parent] = true
		}
	}
	return slices.DeleteFunc(imgs, func(img *store.Image) bool {
		return hidden[img.ID] && len(img.RepoTags) == 0
	}), nil
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
	canon, err := registry.Normalize(arg)
	if err != nil {
		return repoFilter{}, err
	}
	f := repoFilter{}
	f.repo, f.tag = registry.SplitTag(canon)
	if _, tag := registry.SplitTag(arg[strings.LastIndex(arg, "/")+1:]); tag == "" {
		f.tag = ""
	}
	return f, nil
}

func (f repoFilter) match(repo, tag string) bool {
	return f.repo == "" || repo == f.repo && (f.tag == "" || tag == f.tag)
}

// imageFilter is what `images` shows: the REPOSITORY[:TAG] argument and
// docker's --filter keys. Different keys must all match; several reference
// globs are alternatives, several labels must all match (docker's
// MatchKVList), and of several before= or since= the last counts.
type imageFilter struct {
	repo                     repoFilter
	refs                     []string // reference= globs on familiar names
	danglingOnly, noDangling bool     // dangling=true, dangling=false
	before, since            *store.Image
	labels                   []string // key or key=value
}

// parseImageFilters reads --filter values as docker's CLI and daemon do:
// keys are case-insensitive, values trimmed, an unknown key is an error.
func parseImageFilters(s *store.Store, arg string, vals []string) (imageFilter, error) {
	var f imageFilter
	var err error
	if f.repo, err = newRepoFilter(arg); err != nil {
		return f, &ExitError{1, err}
	}
	byKey := map[string][]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok {
			return f, &ExitError{125, fmt.Errorf(`invalid argument %q for "-f, --filter" flag: bad format of filter (expected name=value)`, v)}
		}
		k = strings.ToLower(strings.TrimSpace(k))
		byKey[k] = append(byKey[k], strings.TrimSpace(val))
	}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		if !slices.Contains([]string{"before", "dangling", "label", "reference", "since"}, k) {
			return f, &ExitError{1, fmt.Errorf("invalid filter '%s'", k)}
		}
	}
	if vs := byKey["dangling"]; len(vs) > 0 {
		// docker's GetBoolOrDefault: 1/true or 0/false, not both.
		yes := slices.Contains(vs, "true") || slices.Contains(vs, "1")
		no := slices.Contains(vs, "false") || slices.Contains(vs, "0")
		if yes == no {
			return f, &ExitError{1, fmt.Errorf("invalid filter 'dangling=%s'", strings.Join(vs, ","))}
		}
		f.danglingOnly, f.noDangling = yes, no
	}
	for _, p := range byKey["reference"] {
		if _, err := path.Match(p, ""); err != nil {
			return f, &ExitError{1, fmt.Errorf("invalid filter 'reference=%s': %w", p, err)}
		}
	}
	f.refs, f.labels = byKey["reference"], byKey["label"]
	if f.before, err = lastImage(s, byKey["before"]); err != nil {
		return f, &ExitError{1, err}
	}
	if f.since, err = lastImage(s, byKey["since"]); err != nil {
		return f, &ExitError{1, err}
	}
	return f, nil
}

// lastImage is the image the last of refs names (nil if none): of several
// before= or since= values one counts, as docker.
func lastImage(s *store.Store, refs []string) (*store.Image, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	return findImage(s, refs[len(refs)-1])
}

// keepsImage applies the filters on the image itself: before, since, label.
func (f imageFilter) keepsImage(img *store.Image) bool {
	if f.before != nil && !img.Created.Before(f.before.Created) {
		return false
	}
	if f.since != nil && !img.Created.After(f.since.Created) {
		return false
	}
	for _, l := range f.labels {
		k, want, hasValue := strings.Cut(l, "=")
		got, ok := img.Config.Config.Labels[k]
		if !ok || hasValue && got != want {
			return false
		}
	}
	return true
}

// byName reports whether the image's names are filtered at all.
func (f imageFilter) byName() bool { return f.repo.repo != "" || len(f.refs) > 0 }

// keepsName applies the filters on one canonical name:tag or name@digest:
// the argument, and reference= as docker's FamiliarMatch (a glob on the
// familiar name with its tag or digest, or on the familiar name alone).
func (f imageFilter) keepsName(name string) bool {
	repo, dg := registry.SplitDigest(name)
	tag := ""
	if dg == "" {
		repo, tag = registry.SplitTag(name)
	}
	if f.repo.repo != "" && (dg != "" && f.repo.tag != "" || !f.repo.match(repo, tag)) {
		return false
	}
	if len(f.refs) == 0 {
		return true
	}
	for _, p := range f.refs {
		if ok, _ := path.Match(p, registry.ShortName(name)); ok {
			return true
		}
		if ok, _ := path.Match(p, registry.ShortName(repo)); ok {
			return true
		}
	}
	return false
}

// imageRows makes one row per tag; an image with no tag gets one row with
// TAG <none> (and REPOSITORY <none> unless it was pulled by digest). As
// docker: a dangling image is one with no tag; an image none of whose names
// passes a name filter is left out.
func imageRows(imgs []*store.Image, f imageFilter, noTrunc bool, now time.Time) []imageRow {
	var rows []imageRow
	for _, img := range imgs {
		if !f.keepsImage(img) {
			continue
		}
		tags := slices.DeleteFunc(slices.Clone(img.RepoTags), func(n string) bool { return !f.keepsName(n) })
		digests := slices.DeleteFunc(slices.Clone(img.RepoDigests), func(n string) bool { return !f.keepsName(n) })
		if f.danglingOnly && len(tags) > 0 || len(tags)+len(digests) == 0 && (f.noDangling || f.byName()) {
			continue
		}
		base := imageRow{
			ID:           shortid.Of(img.ID),
			CreatedSince: createdSince(img.Created, now),
			CreatedAt:    img.Created.Local().Format("2006-01-02 15:04:05 -0700 MST"),
			Size:         units.HumanSizeWithPrecision(img.Size, 3),
			VirtualSize:  units.HumanSize(img.Size),
			// docker's `images` leaves these uncomputed (system df fills them)
			Containers: "N/A", SharedSize: "N/A", UniqueSize: "N/A",
		}
		if noTrunc {
			base.ID = img.ID
		}
		for _, t := range tags {
			repo, tag := registry.SplitTag(t)
			r := base
			r.Repository, r.Tag, r.Digest = registry.ShortName(repo), tag, digestFor(img, repo)
			rows = append(rows, r)
		}
		if len(tags) > 0 {
			continue
		}
		r := base
		r.Repository, r.Tag, r.Digest = "<none>", "<none>", "<none>"
		if len(digests) > 0 {
			repo, dg := registry.SplitDigest(digests[0])
			r.Repository, r.Digest = registry.ShortName(repo), dg
		}
		rows = append(rows, r)
	}
	return rows
}

// digestFor is the digest the image has in a repository.
func digestFor(img *store.Image, repo string) string {
	for _, d := range img.RepoDigests {
		if r, dg := registry.SplitDigest(d); r == repo {
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
	// One write at the end, not one a cell: a table of 100 rows was 1500
	// write(2)s, a tenth of ps's time.
	bw := bufio.NewWriter(w)
	out := io.Writer(bw)
	var tw *tabwriter.Writer
	if table {
		tw = tabwriter.NewWriter(bw, 10, 1, 3, ' ', 0)
		out = tw
		if err := execLine(out, tmpl, header); err != nil {
			return err
		}
	}
	for _, r := range rows {
		if err := execLine(out, tmpl, r); err != nil {
			bw.Flush() // the lines before the failing one, as unbuffered
			return err
		}
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return bw.Flush()
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
