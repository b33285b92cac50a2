package commands

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
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
	return f.matches(ct.Created, ct.Config.Labels)
}

// matches is the filter on anything with a creation time and labels: a
// container, or an image for image prune.
func (f pruneFilter) matches(created time.Time, labels map[string]string) bool {
	if f.hasUntil && !created.Before(f.until) {
		return false
	}
	for _, l := range f.labels {
		if !hasLabel(labels, l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if hasLabel(labels, l) {
			return false
		}
	}
	return true
}

// hasLabel: "key" matches any value, "key=value" that value only.
func hasLabel(labels map[string]string, l string) bool {
	k, want, hasValue := strings.Cut(l, "=")
	got, ok := labels[k]
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
// docker's output.
func prune(g *Globals, f pruneFilter, out io.Writer) error {
	r, err := pruneContainers(g, f)
	if err != nil {
		return err
	}
	r.print(out)
	return nil
}

// pruneReport is what one prune did, in docker's words: the list it
// prints (empty when nothing went) and the space it freed. system prune
// prints several and one total.
type pruneReport struct {
	output string
	space  int64
}

// print is docker's end of a prune: the list, a blank line, the total.
func (r pruneReport) print(out io.Writer) {
	if r.output != "" {
		fmt.Fprintln(out, r.output)
	}
	fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(r.space))
}

// pruneContainers removes every stopped container f matches.
// container.Store.Remove refuses one started meanwhile: it is skipped.
func pruneContainers(g *Globals, f pruneFilter) (pruneReport, error) {
	var r pruneReport
	all, err := g.Containers().List()
	if err != nil {
		return r, err
	}
	var deleted []string
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
		r.space += size
	}
	if len(deleted) > 0 {
		r.output = "Deleted Containers:\n" + strings.Join(deleted, "\n") + "\n"
	}
	return r, nil
}

// imagePruneCommand is docker's image prune: dangling images (no tag),
// or with -a every image no container uses.
func imagePruneCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused images, not just dangling ones"},
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
	}
	flags = append(flags, listFlag("filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")...)
	return &cli.Command{
		Name:  "prune",
		Usage: "remove unused images",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return &ExitError{Code: 1, Err: errors.New(`"image prune" accepts no arguments: skiff image prune [OPTIONS]`)}
			}
			all, f, err := parseImagePruneFilters(c.Bool("all"), listOf(c, "filter"), time.Now())
			if err != nil {
				return daemonError(err)
			}
			g, s, err := openStore(c)
			if err != nil {
				return err
			}
			if !c.Bool("force") && !confirm(os.Stdin, os.Stdout, imagePruneWarning(all)) {
				return nil
			}
			r, err := pruneImages(g, s, all, f)
			if err != nil {
				return err
			}
			r.print(os.Stdout)
			return nil
		},
	}
}

// imagePruneWarning is docker's question for image prune.
func imagePruneWarning(all bool) string {
	if all {
		return "WARNING! This will remove all images without at least one container associated to them."
	}
	return "WARNING! This will remove all dangling images."
}

// parseImagePruneFilters is the container prune's filters plus docker's
// dangling=: dangling=false is -a.
func parseImagePruneFilters(all bool, vals []string, now time.Time) (bool, pruneFilter, error) {
	var rest []string
	for _, v := range vals {
		k, val, _ := strings.Cut(v, "=")
		if k != "dangling" {
			rest = append(rest, v)
			continue
		}
		switch val {
		case "true", "1":
		case "false", "0":
			all = true
		default:
			return all, pruneFilter{}, fmt.Errorf("invalid filter 'dangling=%s'", val)
		}
	}
	f, err := parsePruneFilters(rest, now)
	return all, f, err
}

// pruneImages removes the images docker's prune would: untagged ones (an
// image known by digest only counts as dangling), or with all every one;
// never one a container uses, nor one a remaining image was built from
// (its parent goes in a later round, once its child has gone, as docker
// removes the untagged parents of what it deleted). Each round is one
// listing, so it ends: every round deletes something or stops.
func pruneImages(g *Globals, s *store.Store, all bool, f pruneFilter) (pruneReport, error) {
	var r pruneReport
	var lines []string
	used := func() (map[string][]string, error) { return containersByImage(g) }
	sizes, err := layerSizes(s)
	if err != nil {
		return r, err
	}
	for {
		victims, err := pruneCandidates(g, s, all, f)
		if err != nil {
			return r, err
		}
		deleted := 0
		for _, img := range victims {
			d, err := s.DeleteImage(img.ID, false, used)
			var inUse *store.InUseError
			switch {
			case errors.As(err, &inUse), errors.Is(err, store.ErrImageNotFound):
				continue // a container took it, or rmi removed it, since the listing
			case err != nil:
				return r, err
			}
			build.ForgetParent(s.Root(), img.ID)
			deleted++
			sort.Slice(d.Untagged, func(i, j int) bool { return untagOrder(d.Untagged[i]) < untagOrder(d.Untagged[j]) })
			for _, n := range d.Untagged {
				lines = append(lines, "untagged: "+registry.ShortName(n))
			}
			lines = append(lines, "deleted: "+img.ID)
			for _, l := range d.Layers {
				lines = append(lines, "deleted: "+l)
				r.space += sizes[l]
			}
		}
		if deleted == 0 {
			break
		}
	}
	if len(lines) > 0 {
		r.output = "Deleted Images:\n" + strings.Join(lines, "\n") + "\n"
	}
	return r, nil
}

// pruneCandidates lists the images prune may delete now: matching f, no
// tag (or any, with all), no container using it, no image built from it.
func pruneCandidates(g *Globals, s *store.Store, all bool, f pruneFilter) ([]*store.Image, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	users, err := containersByImage(g)
	if err != nil {
		return nil, err
	}
	parents, err := build.BuiltParents(s.Root())
	if err != nil {
		return nil, err
	}
	present := map[string]bool{}
	for _, img := range imgs {
		present[img.ID] = true
	}
	hasChild := map[string]bool{}
	for child, parent := range parents {
		if present[child] {
			hasChild[parent] = true
		}
	}
	return slices.DeleteFunc(imgs, func(img *store.Image) bool {
		return !all && len(img.RepoTags) > 0 || len(users[img.ID]) > 0 || hasChild[img.ID] ||
			!f.matches(img.Created, img.Config.Config.Labels)
	}), nil
}

// layerSizes is every stored layer's uncompressed size by diffID, read
// before a prune deletes any: what it frees is the size of the layers gone.
func layerSizes(s *store.Store) (map[string]int64, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	sizes := map[string]int64{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			if _, ok := sizes[l]; ok {
				continue
			}
			if info, err := s.LayerInfo(l); err == nil {
				sizes[l] = info.Size
			}
		}
	}
	return sizes, nil
}
