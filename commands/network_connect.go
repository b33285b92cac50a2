package commands

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/container"
)

func networkConnectCommand() *cli.Command {
	flags := []cli.Flag{
		&cli.StringSliceFlag{Name: "alias", Usage: "add network-scoped alias for the container"},
		&cli.StringFlag{Name: "ip", Usage: "IPv4 address (e.g., 172.30.100.104)"},
		&cli.StringFlag{Name: "ip6", Usage: "IPv6 address (not supported: IPv4 only)"},
	}
	flags = append(flags, listFlag("link", nil, "add link to another container (not supported yet)")...)
	return &cli.Command{
		Name:      "connect",
		Usage:     "connect a container to a network",
		ArgsUsage: "NETWORK CONTAINER",
		Flags:     flags,
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return &ExitError{Code: 1, Err: errors.New(`"network connect" requires exactly 2 arguments: skiff network connect [OPTIONS] NETWORK CONTAINER`)}
			}
			if _, err := parseIPFlag("ip", c.String("ip")); err != nil {
				return flagError(c, err, false) // docker's CLI refuses it as a flag
			}
			if err := refuseRootlessNetwork("network connect"); err != nil {
				return err
			}
			ip, err := checkIPv4(c.String("ip"))
			if err != nil {
				return &ExitError{Code: 1, Err: daemonError(err)}
			}
			switch {
			case c.String("ip6") != "":
				return &ExitError{Code: 1, Err: daemonError(errors.New("user specified IPv6 address is not supported: skiff's networks are IPv4 only"))}
			case len(listOf(c, "link")) > 0:
				return &ExitError{Code: 1, Err: errors.New("network connect --link is not supported yet")}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			o := container.ConnectOptions{Aliases: c.StringSlice("alias"), IP: ip}
			if err := g.Containers().Connect(c.Args().Get(1), c.Args().Get(0), o); err != nil {
				return &ExitError{Code: 1, Err: daemonError(err)}
			}
			return nil
		},
	}
}

func networkDisconnectCommand() *cli.Command {
	return &cli.Command{
		Name:      "disconnect",
		Usage:     "disconnect a container from a network",
		ArgsUsage: "NETWORK CONTAINER",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "force the container to disconnect from a network"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return &ExitError{Code: 1, Err: errors.New(`"network disconnect" requires exactly 2 arguments: skiff network disconnect [OPTIONS] NETWORK CONTAINER`)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			if err := g.Containers().Disconnect(c.Args().Get(1), c.Args().Get(0), c.Bool("force")); err != nil {
				return &ExitError{Code: 1, Err: daemonError(err)}
			}
			return nil
		},
	}
}
