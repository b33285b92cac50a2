package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/network"
)

func networkRmCommand() *cli.Command {
	return &cli.Command{
		Name:      "rm",
		Aliases:   []string{"remove"},
		Usage:     "remove one or more networks",
		ArgsUsage: "NETWORK [NETWORK...]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not error if the network does not exist"},
		},
		Action: networkRmAction,
	}
}

// networkRmAction removes each network in turn, as docker's CLI: a name
// printed for each removed, one error line for each that is not, exit 1
// if any failed.
func networkRmAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return &ExitError{Code: 1, Err: errors.New(`"network rm" requires at least 1 argument: skiff network rm NETWORK [NETWORK...]`)}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range c.Args().Slice() {
		err := removeNetwork(g, ref)
		var nf *network.NotFoundError
		switch {
		case err == nil:
			fmt.Fprintln(os.Stdout, ref)
		case c.Bool("force") && errors.As(err, &nf):
		default:
			printError(daemonError(err))
			failed = true
		}
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

// removeNetwork is docker's network removal: never a predefined network,
// never one in use; the record goes first, then the bridge device and its
// rules (a failure there is a warning: the network is gone, and its
// leftovers go with a later network's EnsureBridge or RemoveBridge).
func removeNetwork(g *Globals, ref string) error {
	n, err := findNetwork(g, ref)
	if err != nil {
		return err
	}
	if n.user == nil {
		return fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name)
	}
	nets := g.userNetworks()
	removed, err := nets.Remove(n.ID)
	if err != nil {
		return err
	}
	removeBridge(nets, removed)
	return nil
}

func removeBridge(nets *network.UserNetworks, n *network.UserNetwork) {
	if err := nets.RemoveBridge(n); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: warning: network %s: %v\n", n.Name, err)
	}
}

func networkPruneCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
	}
	flags = append(flags, listFlag("filter", nil, "provide filter values (e.g. \"until=<timestamp>\", \"label=key=value\")")...)
	return &cli.Command{
		Name:  "prune",
		Usage: "remove all unused networks",
		Flags: flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return &ExitError{Code: 1, Err: errors.New(`"network prune" accepts no arguments: skiff network prune [OPTIONS]`)}
			}
			f, err := parsePruneFilters(listOf(c, "filter"), time.Now())
			if err != nil {
				return &ExitError{Code: 1, Err: daemonError(err)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			if !c.Bool("force") && !confirm(os.Stdin, os.Stdout, "WARNING! This will remove all custom networks not used by at least one container.") {
				return nil
			}
			r, err := pruneNetworks(g, f)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			if r.output != "" {
				fmt.Fprintln(os.Stdout, r.output)
			}
			return nil
		},
	}
}

// pruneNetworks removes every user network without a member that f
// matches (until=, label=, label!=), in docker's words: "Deleted
// Networks:" and their names. system prune runs it too.
func pruneNetworks(g *Globals, f pruneFilter) (pruneReport, error) {
	var r pruneReport
	nets := g.userNetworks()
	removed, err := nets.Prune(func(n *network.UserNetwork) bool { return f.matches(n.Created, n.Labels) })
	var names []string
	for _, n := range removed {
		removeBridge(nets, n)
		names = append(names, n.Name)
	}
	if len(names) > 0 {
		r.output = "Deleted Networks:\n" + strings.Join(names, "\n") + "\n"
	}
	return r, err
}
