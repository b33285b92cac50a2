package commands

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

func init() { register(portCommand) }

// portCommand is docker's port. skiff publishes no ports yet (no networking
// beyond loopback), so a known container lists nothing, as docker does for
// one run without -p; a PRIVATE_PORT asked for is then docker's "no public
// port" error.
func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "list port mappings or a specific mapping for the container",
		ArgsUsage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) < 1 || len(args) > 2 {
				return &ExitError{Code: 1, Err: errors.New(`"port" requires at least 1 and at most 2 arguments: skiff port CONTAINER [PRIVATE_PORT[/PROTO]]`)}
			}
			var port, proto string
			if len(args) == 2 {
				var err error
				if port, proto, err = parsePrivatePort(args[1]); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			if _, err := g.Containers().Lookup(args[0]); err != nil {
				return daemonError(err)
			}
			if port != "" {
				printError(fmt.Errorf("No public port '%s/%s' published for %s", port, proto, args[0]))
				return &ExitError{Code: 1}
			}
			return nil
		},
	}
}

// parsePrivatePort reads PORT[/PROTO] as docker's CLI does (tcp by default).
// A bad one is a usage error, printed with the "skiff:" prefix.
func parsePrivatePort(s string) (port, proto string, err error) {
	port, proto, _ = strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", fmt.Errorf("invalid port (%s)", port)
	}
	switch strings.ToLower(proto) {
	case "tcp", "udp", "sctp":
		return port, strings.ToLower(proto), nil
	}
	return "", "", fmt.Errorf("invalid protocol (%s)", proto)
}
