package commands

import "github.com/urfave/cli/v2"

// The `container` group: docker's management-command spelling of the
// container verbs (skiff container run/ls/rm).
func init() {
	register(&cli.Command{
		Name:            "container",
		Usage:           "manage containers",
		HideHelpCommand: true,
		Subcommands: []*cli.Command{
			runCommand(),
			psCommand("ls", "ps", "list"),
			rmCommand("rm", "remove"),
		},
	})
}
