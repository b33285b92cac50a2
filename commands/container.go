package commands

import "github.com/urfave/cli/v2"

// The `container` group: docker's management-command spelling of the
// container verbs (skiff container run/ls/rm/start...).
func init() { register(containerGroupCommand) }

func containerGroupCommand() *cli.Command {
	return &cli.Command{
		Name:            "container",
		Usage:           "manage containers",
		HideHelpCommand: true,
		Subcommands: []*cli.Command{
			runCommand(),
			createCommand(),
			startCommand(),
			attachCommand(),
			psCommand("ls", "ps", "list"),
			rmCommand("rm", "remove"),
			stopCommand(),
			killCommand(),
			waitCommand(),
			logsCommand(),
			execCommand(),
			containerInspectCommand(),
			restartCommand(),
			topCommand(),
			statsCommand(),
			commitCommand(), exportCommand(),
			cpCommand(),
			diffCommand(),
			pauseCommand(),
			unpauseCommand(),
			renameCommand(),
			portCommand(),
			containerPruneCommand(),
		},
	}
}
