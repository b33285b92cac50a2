package commands

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/network"
)

func networkCreateCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringFlag{Name: "driver", Aliases: []string{"d"}, Value: network.DriverBridge, Usage: "driver to manage the network (bridge only)"},
		&cli.StringSliceFlag{Name: "subnet", Usage: "subnet in CIDR format that represents a network segment"},
		&cli.StringSliceFlag{Name: "gateway", Usage: "IPv4 gateway for the subnet"},
		&cli.StringSliceFlag{Name: "ip-range", Usage: "allocate container ip from a sub-range"},
		&cli.BoolFlag{Name: "internal", Usage: "restrict external access to the network"},
		&cli.BoolFlag{Name: "attachable", Usage: "enable manual container attachment (always)"},
		&cli.BoolFlag{Name: "ipv4", Value: true, Usage: "enable IPv4 address assignment (always)"},
		&cli.BoolFlag{Name: "ipv6", Usage: "enable IPv6 address assignment (not supported)"},
	}
	flags = append(flags, listFlag("label", nil, "set metadata on a network")...)
	flags = append(flags, listFlag("opt", []string{"o"}, "set driver specific options (com.docker.network.bridge.name, com.docker.network.driver.mtu or mtu)")...)
	return &cli.Command{
		Name:      "create",
		Usage:     "create a network",
		ArgsUsage: "NETWORK",
		Flags:     flags,
		Action:    networkCreateAction,
	}
}

// networkCreateAction makes the record, then the bridge (docker makes the
// device at create); a bridge that cannot be made takes the record back
// with it, so nothing is left half-created.
func networkCreateAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return &ExitError{Code: 1, Err: errors.New(`"network create" requires exactly 1 argument: skiff network create [OPTIONS] NETWORK`)}
	}
	if err := checkLabels(listOf(c, "label")); err != nil {
		return flagError(c, err, false) // docker's CLI refuses it as a flag
	}
	if err := refuseRootlessNetwork("network create"); err != nil {
		return err
	}
	o, err := networkCreateOptions(c)
	if err != nil {
		return &ExitError{Code: 1, Err: err}
	}
	g, err := globals(c)
	if err != nil {
		return err
	}
	nets := g.userNetworks()
	n, err := nets.Create(o)
	if err != nil {
		return &ExitError{Code: 1, Err: daemonError(err)}
	}
	if err := nets.EnsureBridge(g.Bridge, n); err != nil {
		if _, rmErr := nets.Remove(n.ID); rmErr != nil {
			err = errors.Join(err, fmt.Errorf("remove the record: %w", rmErr))
		}
		return &ExitError{Code: 1, Err: daemonError(fmt.Errorf("failed to create network %s: %w", n.Name, err))}
	}
	fmt.Fprintln(os.Stdout, n.ID)
	return nil
}

// networkCreateOptions are the flags as network.Create takes them,
// docker's CLI checks first (one subnet each; the labels are checked as a flag).
func networkCreateOptions(c *cli.Context) (network.CreateOptions, error) {
	o := network.CreateOptions{Name: c.Args().First(), Driver: c.String("driver"), Internal: c.Bool("internal")}
	if c.Bool("ipv6") {
		return o, daemonError(errors.New("IPv6 is not supported: skiff's networks are IPv4 only"))
	}
	if !c.Bool("ipv4") {
		return o, daemonError(errors.New("IPv4 cannot be disabled: skiff's networks are IPv4 only"))
	}
	o.Labels, o.Options = keyValues(listOf(c, "label")), keyValues(listOf(c, "opt"))
	for _, f := range []struct {
		name string
		to   *string
	}{{"subnet", &o.Subnet}, {"gateway", &o.Gateway}, {"ip-range", &o.IPRange}} {
		switch vals := c.StringSlice(f.name); {
		case len(vals) > 1:
			return o, daemonError(fmt.Errorf("one --%s only: skiff's networks have one IPv4 subnet", f.name))
		case len(vals) == 1:
			*f.to = vals[0]
		}
	}
	return o, nil
}

// checkLabels is docker's --label validator: a label names its key.
func checkLabels(vals []string) error {
	for _, v := range vals {
		if k, _, _ := strings.Cut(v, "="); strings.TrimLeft(k, " \t") == "" {
			return fmt.Errorf(`invalid argument %q for "--label" flag: invalid label '%s': empty name`, v, v)
		}
	}
	return nil
}
