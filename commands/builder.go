package commands

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/build"
)

// The `builder` group: docker's `builder prune`, which empties the
// RUN --mount=type=cache directories (the step cache is the images'
// own, removed with them by rmi and image prune).
func init() { register(builderGroupCommand) }

func builderGroupCommand() *cli.Command {
	return &cli.Command{
		Name:        "builder",
		Usage:       "manage builds",
		Subcommands: []*cli.Command{builderPruneCommand()},
	}
}

func builderPruneCommand() *cli.Command {
	return &cli.Command{
		Name:  "prune",
		Usage: "remove build cache",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "remove all unused build cache, not just dangling ones"},
			&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "do not prompt for confirmation"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 0 {
				return &ExitError{Code: 1, Err: errors.New(`"builder prune" accepts no arguments: skiff builder prune [OPTIONS]`)}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			warning := "WARNING! This will remove all dangling build cache."
			if c.Bool("all") {
				warning = "WARNING! This will remove all build cache."
			}
			if !c.Bool("force") && !confirm(os.Stdin, c.App.Writer, warning) {
				return nil
			}
			return builderPrune(g.Paths.Root, c.App.Writer)
		},
	}
}

// builderPrune empties the cache mounts, in docker's words.
func builderPrune(root string, out io.Writer) error {
	r, err := pruneBuildCache(root)
	if err != nil {
		if r.output != "" {
			fmt.Fprintln(out, r.output)
		}
		return &ExitError{Code: 1, Err: err}
	}
	r.print(out)
	return nil
}

// pruneBuildCache empties the cache mounts no build uses (system prune's
// share of builder prune).
func pruneBuildCache(root string) (pruneReport, error) {
	ids, space, err := build.PruneCacheMounts(root)
	r := pruneReport{space: space}
	if len(ids) > 0 {
		r.output = "Deleted build cache objects:\n" + strings.Join(ids, "\n") + "\n"
	}
	return r, err
}

// buildSecrets reads --secret's values by id, with buildx's rules: src=
// (or source=) is a file, env= an environment variable; with neither, the
// variable named as the id if set, else the file of that name.
func buildSecrets(vals []string) (map[string][]byte, error) {
	secrets := map[string][]byte{}
	for _, v := range vals {
		id, src, env, err := parseSecret(v)
		if err != nil {
			return nil, err
		}
		if src == "" && env == "" {
			if _, ok := os.LookupEnv(id); ok {
				env = id
			} else {
				src = id
			}
		}
		if env != "" {
			val, ok := os.LookupEnv(env)
			if !ok {
				return nil, fmt.Errorf("secret %s: environment variable %s not set", id, env)
			}
			secrets[id] = []byte(val)
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, fmt.Errorf("failed to read secret %s: %w", id, err)
		}
		secrets[id] = b
	}
	return secrets, nil
}

// parseSecret splits one --secret value into its fields.
func parseSecret(v string) (id, src, env string, err error) {
	typ := ""
	for _, field := range strings.Split(v, ",") {
		key, value, ok := strings.Cut(field, "=")
		if !ok {
			return "", "", "", fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
		switch strings.ToLower(key) {
		case "type":
			if value != "file" && value != "env" {
				return "", "", "", fmt.Errorf("unsupported secret type %q", value)
			}
			typ = value
		case "id":
			id = value
		case "source", "src":
			src = value
		case "env":
			env = value
		default:
			return "", "", "", fmt.Errorf("unexpected key '%s' in '%s'", key, field)
		}
	}
	if typ == "env" && env == "" {
		env, src = src, ""
	}
	if id == "" {
		id = cmp.Or(src, env)
		if typ != "env" && src != "" {
			id = filepath.Base(src)
		}
	}
	if id == "" {
		return "", "", "", fmt.Errorf("invalid secret %q: id required", v)
	}
	return id, src, env, nil
}
