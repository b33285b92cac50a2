package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/units"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/store"
	"github.com/skiff-dev/skiff/volume"
)

// system df and system prune, docker's: what the store holds and what of
// it nothing uses, and removing that.

func systemDfCommand() *cli.Command {
	return &cli.Command{
		Name:  "df",
		Usage: "show skiff disk usage",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "show detailed information on space usage"},
			&cli.StringFlag{Name: "format", Usage: "'json', 'table' or a Go template: .Type .TotalCount .Active .Size .Reclaimable"},
		},
		Action: runSystemDf,
	}
}

func runSystemDf(c *cli.Context) error {
	if c.NArg() != 0 {
		return &ExitError{1, errors.New(`"system df" accepts no arguments: skiff system df [OPTIONS]`)}
	}
	g, s, err := openStore(c)
	if err != nil {
		return &ExitError{1, err}
	}
	du, err := diskUsageOf(g, s)
	if err != nil {
		return &ExitError{1, err}
	}
	if c.Bool("verbose") {
		err = du.printVerbose(os.Stdout, time.Now())
	} else {
		format := c.String("format")
		switch format {
		case "", "table":
			format = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
		case "json":
			format = "{{json .}}"
		}
		err = printRows(os.Stdout, format, dfHeader, du.summary())
	}
	if err != nil {
		return &ExitError{1, err}
	}
	return nil
}

// diskUsage is what system df counts.
type diskUsage struct {
	images     []imageUsage
	layersSize int64 // every stored layer once
	usedLayers int64 // the layers of images a container uses, once each
	containers []containerUsage
	volumes    []volumeUsage
	cache      []cacheUsage
}

type imageUsage struct {
	img              *store.Image
	containers       int
	size, sharedSize int64
}

type containerUsage struct {
	ct *state.Container
	rw int64
}

type volumeUsage struct {
	v     *volume.Volume
	links int
	size  int64
}

type cacheUsage struct {
	id       string
	size     int64
	modified time.Time
}

// diskUsageOf reads the store, the containers, the volumes and the build
// cache. A layer shared by several images counts once, as docker's
// LayersSize: the images' sizes added up would count it for each.
func diskUsageOf(g *Globals, s *store.Store) (*diskUsage, error) {
	du := &diskUsage{}
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	byImage, err := containersByImage(g)
	if err != nil {
		return nil, err
	}
	sizes, err := layerSizes(s)
	if err != nil {
		return nil, err
	}
	refs := map[string]int{}   // layer -> images having it
	inUse := map[string]bool{} // layer -> an image a container uses has it
	for _, img := range imgs {
		for _, l := range img.Layers {
			refs[l]++
			inUse[l] = inUse[l] || len(byImage[img.ID]) > 0
		}
	}
	for l, n := range sizes {
		du.layersSize += n
		if inUse[l] {
			du.usedLayers += n
		}
	}
	for _, img := range imgs {
		u := imageUsage{img: img, containers: len(byImage[img.ID]), size: img.Size}
		for _, l := range img.Layers {
			if refs[l] > 1 {
				u.sharedSize += sizes[l]
			}
		}
		du.images = append(du.images, u)
	}
	if du.containers, err = containerUsages(g); err != nil {
		return nil, err
	}
	if du.volumes, err = volumeUsages(g); err != nil {
		return nil, err
	}
	du.cache, err = cacheUsages(g.Paths.Root)
	return du, err
}

func containerUsages(g *Globals) ([]containerUsage, error) {
	cs, err := g.Containers().List()
	if err != nil {
		return nil, err
	}
	out := make([]containerUsage, len(cs))
	for i, ct := range cs {
		out[i] = containerUsage{ct: ct}
		if dir, err := state.Dir(g.Paths.Root, ct.ID); err == nil {
			out[i].rw = dirSize(filepath.Join(dir, "upper"))
		}
	}
	return out, nil
}

func volumeUsages(g *Globals) ([]volumeUsage, error) {
	list, err := g.volumes().List()
	if err != nil {
		return nil, err
	}
	users, err := g.Containers().VolumeUsers()
	if err != nil {
		return nil, err
	}
	out := make([]volumeUsage, len(list))
	for i, v := range list {
		out[i] = volumeUsage{v: v, links: len(users[v.Name]), size: dirSize(v.Mountpoint)}
	}
	return out, nil
}

// cacheUsages lists the RUN --mount=type=cache directories: skiff's build
// cache beside the images (the step cache is images, counted there).
func cacheUsages(root string) ([]cacheUsage, error) {
	dir := build.CacheMountsDir(root)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("build cache: %w", err)
	}
	var out []cacheUsage
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		u := cacheUsage{id: e.Name(), size: dirSize(filepath.Join(dir, e.Name()))}
		if info, err := e.Info(); err == nil {
			u.modified = info.ModTime()
		}
		out = append(out, u)
	}
	return out, nil
}

// dfRow is one line of system df, with docker's field names.
type dfRow struct {
	Active      string
	Reclaimable string
	Size        string
	TotalCount  string
	Type        string
}

var dfHeader = dfRow{Type: "TYPE", TotalCount: "TOTAL", Active: "ACTIVE", Size: "SIZE", Reclaimable: "RECLAIMABLE"}

// summary is docker's four lines. Active containers are running or
// paused ones; active images and volumes are those a container uses.
func (du *diskUsage) summary() []dfRow {
	activeImages := 0
	for _, u := range du.images {
		if u.containers > 0 {
			activeImages++
		}
	}
	var activeCts int
	var ctSize, ctFree int64
	for _, u := range du.containers {
		ctSize += u.rw
		if u.ct.Status.Up() || u.ct.Status == state.Restarting {
			activeCts++
		} else {
			ctFree += u.rw
		}
	}
	var activeVols int
	var volSize, volFree int64
	for _, u := range du.volumes {
		volSize += u.size
		if u.links > 0 {
			activeVols++
		} else {
			volFree += u.size
		}
	}
	var cacheSize int64
	for _, u := range du.cache {
		cacheSize += u.size
	}
	return []dfRow{
		{Type: "Images", TotalCount: strconv.Itoa(len(du.images)), Active: strconv.Itoa(activeImages),
			Size: units.HumanSize(du.layersSize), Reclaimable: reclaimable(du.layersSize-du.usedLayers, du.layersSize)},
		{Type: "Containers", TotalCount: strconv.Itoa(len(du.containers)), Active: strconv.Itoa(activeCts),
			Size: units.HumanSize(ctSize), Reclaimable: reclaimable(ctFree, ctSize)},
		{Type: "Local Volumes", TotalCount: strconv.Itoa(len(du.volumes)), Active: strconv.Itoa(activeVols),
			Size: units.HumanSize(volSize), Reclaimable: reclaimable(volFree, volSize)},
		// No build is using a cache mount once it is over: all of it can go.
		{Type: "Build Cache", TotalCount: strconv.Itoa(len(du.cache)), Active: "0",
			Size: units.HumanSize(cacheSize), Reclaimable: units.HumanSize(cacheSize)},
	}
}

// reclaimable is docker's "1.2MB (40%)", the share left out when nothing is stored.
func reclaimable(free, total int64) string {
	if total <= 0 {
		return units.HumanSize(free)
	}
	return fmt.Sprintf("%s (%d%%)", units.HumanSize(free), free*100/total)
}

// The verbose tables, docker's columns.
const (
	dfImagesTable     = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}"
	dfContainersTable = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}"
	dfVolumesTable    = "table {{.Name}}\t{{.Links}}\t{{.Size}}"
	dfCacheTable      = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}"
)

type dfVolumeRow struct{ Links, Name, Size string }

type dfCacheRow struct {
	CacheType, CreatedSince, ID, LastUsedSince, Shared, Size, UsageCount string
}

// printVerbose is system df -v: a table for each kind, in docker's layout.
func (du *diskUsage) printVerbose(w io.Writer, now time.Time) error {
	fmt.Fprint(w, "Images space usage:\n\n")
	var rows []imageRow
	for _, u := range du.images {
		for _, r := range imageRows([]*store.Image{u.img}, imageFilter{}, false, now) {
			r.SharedSize = units.HumanSize(u.sharedSize)
			r.UniqueSize = units.HumanSize(u.size - u.sharedSize)
			r.Containers = strconv.Itoa(u.containers)
			rows = append(rows, r)
		}
	}
	if err := printRows(w, dfImagesTable, imageHeader, rows); err != nil {
		return err
	}
	fmt.Fprint(w, "\nContainers space usage:\n\n")
	cts := make([]*state.Container, len(du.containers))
	sizes := map[string]string{}
	for i, u := range du.containers {
		cts[i] = u.ct
		sizes[u.ct.ID] = units.HumanSize(u.rw)
	}
	if err := printPs(w, dfContainersTable, cts, now, false, sizes); err != nil {
		return err
	}
	fmt.Fprint(w, "\nLocal Volumes space usage:\n\n")
	vrows := make([]dfVolumeRow, len(du.volumes))
	for i, u := range du.volumes {
		vrows[i] = dfVolumeRow{Name: u.v.Name, Links: strconv.Itoa(u.links), Size: units.HumanSize(u.size)}
	}
	if err := printRows(w, dfVolumesTable, dfVolumeRow{Name: "VOLUME NAME", Links: "LINKS", Size: "SIZE"}, vrows); err != nil {
		return err
	}
	var cacheSize int64
	crows := make([]dfCacheRow, len(du.cache))
	for i, u := range du.cache {
		cacheSize += u.size
		crows[i] = dfCacheRow{ID: shortid.Of(u.id), CacheType: "exec.cachemount", Size: units.HumanSize(u.size),
			CreatedSince: createdSince(u.modified, now), LastUsedSince: createdSince(u.modified, now), UsageCount: "1", Shared: "false"}
	}
	fmt.Fprintf(w, "\nBuild cache usage: %s\n\n", units.HumanSize(cacheSize))
	return printRows(w, dfCacheTable, dfCacheRow{ID: "CACHE ID", CacheType: "CACHE TYPE", Size: "SIZE",
		CreatedSince: "CREATED", LastUsedSince: "LAST USED", UsageCount: "USAGE", Shared: "SHARED"}, crows)
}

func systemPruneCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused images not just dangling ones"},
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
		&cli.BoolFlag{Name: "volumes", Usage: "prune anonymous volumes"},
	}
	flags = append(flags, listFlag("filter", nil, "provide filter values (e.g. \"label=<key>=<value>\")")...)
	return &cli.Command{
		Name:   "prune",
		Usage:  "remove unused data",
		Flags:  flags,
		Action: runSystemPrune,
	}
}

// systemPruneWarning is docker's question, listing what will go (parsed
// when asked: package init runs in every skiff process).
const systemPruneWarning = `WARNING! This will remove:
{{- range .Warnings}}
  - {{.}}
{{- end}}
{{if .Filters}}
  Items to be pruned will be filtered with:
{{- range .Filters}}
  - {{.}}
{{- end}}
{{end}}`

func runSystemPrune(c *cli.Context) error {
	if c.NArg() != 0 {
		return &ExitError{1, errors.New(`"system prune" accepts no arguments: skiff system prune [OPTIONS]`)}
	}
	all, volumes := c.Bool("all"), c.Bool("volumes")
	filters := listOf(c, "filter")
	f, err := parsePruneFilters(filters, time.Now())
	if err != nil {
		return daemonError(err)
	}
	g, s, err := openStore(c)
	if err != nil {
		return err
	}
	if !c.Bool("force") && !confirm(os.Stdin, os.Stdout, systemPruneQuestion(all, volumes, filters)) {
		return nil
	}
	return systemPrune(g, s, all, volumes, f, os.Stdout)
}

// systemPruneQuestion is docker's warning for the options given.
func systemPruneQuestion(all, volumes bool, filters []string) string {
	warnings := []string{"all stopped containers", "all networks not used by at least one container"}
	if volumes {
		warnings = append(warnings, "all anonymous volumes not used by at least one container")
	}
	if all {
		warnings = append(warnings, "all images without at least one container associated to them", "all build cache")
	} else {
		warnings = append(warnings, "all dangling images", "unused build cache")
	}
	var b strings.Builder
	template.Must(template.New("warning").Parse(systemPruneWarning)).Execute(&b, map[string]any{"Warnings": warnings, "Filters": filters})
	return b.String() // its last line is blank: the question follows it
}

// systemPrune runs docker's prunes in docker's order (containers first,
// so the images and volumes they held go too), each printing its list,
// then one total.
func systemPrune(g *Globals, s *store.Store, all, volumes bool, f pruneFilter, out io.Writer) error {
	var total int64
	step := func(r pruneReport, err error) error {
		if err != nil {
			return err
		}
		if r.output != "" {
			fmt.Fprintln(out, r.output)
		}
		total += r.space
		return nil
	}
	if err := step(pruneContainers(g, f)); err != nil {
		return err
	}
	if err := step(pruneNetworks(g, f)); err != nil {
		return err
	}
	if volumes {
		vf := volumeFilters{"label": append([]string{volume.AnonymousLabel}, f.labels...), "label!": f.notLabels}
		if err := step(pruneVolumesReport(g, vf)); err != nil {
			return err
		}
	}
	if err := step(pruneImages(g, s, all, f)); err != nil {
		return err
	}
	if err := step(pruneBuildCache(g.Paths.Root)); err != nil {
		return err
	}
	fmt.Fprintln(out, "Total reclaimed space:", units.HumanSize(total))
	return nil
}
