package commands

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/volume"
)

// volume rm and prune: both hold the volumes lock exclusively while they
// check which containers use a volume and delete it, so a run or create
// (which holds it shared until its record names its volumes) can neither
// start using a volume being deleted nor be missed by the check.

func volumeRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove one or more volumes; a volume in use by a container cannot be removed",
		ArgsUsage: "VOLUME [VOLUME...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not fail on a volume that does not exist (a volume in use is still refused)"},
		},
		Action: volumeRmAction,
	}
}

// volumeRmAction removes each volume named and prints its name; one that
// a container uses, running or stopped, is refused with or without -f
// (docker's -f only ignores a missing volume).
func volumeRmAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return &ExitError{Code: 1, Err: errors.New(`"volume rm" requires at least 1 argument: skiff volume rm [OPTIONS] VOLUME [VOLUME...]`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	vs, users, release, err := lockVolumeUsers(g)
	if err != nil {
		return err
	}
	defer release()
	failed := false
	for _, name := range c.Args().Slice() {
		if err := removeVolume(vs, name, users[name], c.Bool("force")); err != nil {
			printError(daemonError(err))
			failed = true
			continue
		}
		fmt.Println(name)
	}
	if failed {
		return &ExitError{Code: 1} // each failure is printed already
	}
	return nil
}

// removeVolume is one volume of volume rm, in docker's words: "remove
// NAME: volume is in use - [ID, ID]", "get NAME: no such volume".
func removeVolume(vs volume.Store, name string, users []string, force bool) error {
	if len(users) > 0 {
		return fmt.Errorf("remove %s: volume is in use - [%s]", name, strings.Join(users, ", "))
	}
	err := vs.Remove(name)
	if force && errors.Is(err, volume.ErrNotFound) {
		return nil
	}
	return err
}

func volumePruneCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused volumes, not just anonymous ones"},
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
	}
	flags = append(flags, listFlag("filter", nil, `provide filter values (e.g. "label=<label>")`)...)
	return &cli.Command{
		Name:   "prune",
		Usage:  "remove unused local volumes (anonymous ones unless -a)",
		Flags:  flags,
		Action: volumePruneAction,
	}
}

const (
	pruneAnonymousWarning = "WARNING! This will remove anonymous local volumes not used by at least one container."
	pruneAllWarning       = "WARNING! This will remove all local volumes not used by at least one container."
)

// volumePruneAction is docker 23+'s: without -a (or --filter all=true)
// only anonymous volumes go; a volume any container uses stays.
func volumePruneAction(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{Code: 1, Err: errors.New(`"volume prune" accepts no arguments: skiff volume prune [OPTIONS]`)}
	}
	f, err := parseVolumeFilters(listOf(c, "filter"), "all", "label", "label!")
	if err != nil {
		return daemonError(err)
	}
	all := c.Bool("all")
	if vals := f["all"]; len(vals) > 1 {
		return daemonError(fmt.Errorf("invalid filter 'all=%s': only one value is expected", vals))
	} else if len(vals) == 1 {
		all, _ = strconv.ParseBool(vals[0])
	}
	delete(f, "all")
	if !all {
		f["label"] = append(f["label"], volume.AnonymousLabel)
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	warning := pruneAnonymousWarning
	if all {
		warning = pruneAllWarning
	}
	if !c.Bool("force") && !confirm(os.Stdin, os.Stdout, warning) {
		return nil
	}
	return pruneVolumes(g, f, os.Stdout)
}

// pruneVolumes removes every volume f matches that no container uses,
// in docker's output.
func pruneVolumes(g *Globals, f volumeFilters, out io.Writer) error {
	r, err := pruneVolumesReport(g, f)
	if err != nil {
		return err
	}
	r.print(out)
	return nil
}

// pruneVolumesReport removes every volume f matches that no container uses.
func pruneVolumesReport(g *Globals, f volumeFilters) (pruneReport, error) {
	var r pruneReport
	vs, users, release, err := lockVolumeUsers(g)
	if err != nil {
		return r, err
	}
	defer release()
	list, err := vs.List()
	if err != nil {
		return r, err
	}
	var deleted []string
	for _, v := range list {
		if len(users[v.Name]) > 0 || !f.match(v, false) {
			continue
		}
		size := dirSize(v.Mountpoint) // a bind volume's _data is empty: its device is never walked
		if err := vs.Remove(v.Name); err != nil {
			fmt.Fprintln(os.Stderr, "skiff: warning: prune:", err)
			continue
		}
		deleted = append(deleted, v.Name)
		r.space += size
	}
	if len(deleted) > 0 {
		r.output = "Deleted Volumes:\n" + strings.Join(deleted, "\n") + "\n"
	}
	return r, nil
}

// lockVolumeUsers takes the volume store's exclusive lock (no create or
// run can make a volume in use meanwhile) and reads which containers use
// which volume. The caller releases the lock once it has deleted.
func lockVolumeUsers(g *Globals) (vs volume.Store, users map[string][]string, release func(), err error) {
	vs = g.volumes()
	if release, err = vs.Exclusive(); err != nil {
		return vs, nil, nil, err
	}
	if users, err = g.Containers().VolumeUsers(); err != nil {
		release()
		return vs, nil, nil, err
	}
	return vs, users, release, nil
}
