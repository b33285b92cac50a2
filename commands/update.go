package commands

// `skiff update [OPTIONS] CONTAINER...`: docker's update of a container's
// resource limits and restart policy, running or stopped, kept in its
// record (every later start writes them again).

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/state"
)

func init() { register(updateCommand) }

// updateResourceFlags are docker update's resource flags: run's, without
// the device throttles, swappiness, OOM settings.
func updateResourceFlags() []cli.Flag {
	var fs []cli.Flag
	for _, f := range resourceFlags() {
		if _, list := f.(*cli.GenericFlag); !list {
			fs = append(fs, f)
		}
	}
	return fs
}

func updateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "update configuration of one or more containers",
		ArgsUsage: "CONTAINER [CONTAINER...]",
		Flags: append(updateResourceFlags(),
			&cli.StringFlag{Name: "restart", Usage: "restart policy to apply when a container exits"}),
		Action: updateAction,
	}
}

func updateAction(c *cli.Context) error {
	args := resourceArgsOf(c, updateResourceFlags())
	restart := c.IsSet("restart")
	if len(args.values) == 0 && !restart && c.NArg() > 0 {
		return &ExitError{Code: 1, Err: errors.New("you must provide one or more flags when using this command")}
	}
	var policy state.RestartPolicy
	if restart {
		p, err := parseRestart(c.String("restart"))
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		policy = p
	}
	host := currentHostCPUs()
	warned := false
	return eachContainer(c, "update", c.Args().Slice(), func(g *Globals, ref string) error {
		_, err := g.Containers().Update(ref, func(ct *state.Container) error {
			l, warnings, err := parseLimits(args, ct.Host.Limits, host)
			if err != nil {
				return err
			}
			if !warned {
				if len(args.values) > 0 && rootless() {
					if w := rootlessUpdateWarning(l); w != "" {
						warnings = append(warnings, w)
					}
				}
				printLimitWarnings(warnings)
				warned = true
			}
			if restart {
				if ct.Config.AutoRemove && policy.Name != "no" {
					return errors.New("Restart policy cannot be updated because AutoRemove is enabled for the container")
				}
				ct.Config.RestartPolicy = policy
			}
			ct.Host.Limits = l
			return nil
		})
		return err
	})
}
