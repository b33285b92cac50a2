package commands

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/template"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func inspectImageCommand(name string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     "show images as JSON",
		ArgsUsage: "IMAGE [IMAGE...]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "Go template, e.g. '{{json .Config}}'"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return &ExitError{1, fmt.Errorf("image inspect: want at least one image")}
			}
			g, err := globals(c)
			if err != nil {
				return &ExitError{1, err}
			}
			return inspectImages(g, c.Args().Slice(), c.String("format"), os.Stdout)
		},
	}
}

// inspectImages prints images as docker's `image inspect` does: a JSON
// array, or each image through a Go template. Unknown names are returned as
// an error after the others are printed, as docker; the top-level `inspect`
// reuses this for its image half.
func inspectImages(g *Globals, names []string, format string, w io.Writer) error {
	s, err := store.Open(g.Paths.Root)
	if err != nil {
		return err
	}
	var tmpl *template.Template
	if format != "" {
		if tmpl, err = goTemplate(format); err != nil {
			return err
		}
	}
	docs := make([]any, 0, len(names))
	var missing []error
	for _, n := range names {
		img, err := findImage(s, n)
		if err != nil {
			missing = append(missing, err)
			continue
		}
		docs = append(docs, toInspect(s, img))
	}
	// What was found prints even when some names were not, as docker
	// does; the misses are reported after it, a line each.
	if err := printDocs(w, tmpl, docs); err != nil {
		return err
	}
	for _, err := range missing {
		printError(err)
	}
	if len(missing) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func toInspect(s *store.Store, img *store.Image) imageInspect {
	cfg := img.Config
	d := imageInspect{
		Id:            img.ID,
		RepoTags:      shortNames(img.RepoTags),
		RepoDigests:   shortNames(img.RepoDigests),
		Comment:       imageComment(cfg.History),
		Created:       img.Created.UTC().Format(time.RFC3339Nano),
		DockerVersion: cfg.DockerVersion,
		Author:        cfg.Author,
		Config:        imageConfig(cfg.Config),
		Architecture:  cfg.Architecture,
		Variant:       cfg.Variant,
		Os:            cfg.OS,
		OsVersion:     cfg.OSVersion,
		Size:          img.Size,
		GraphDriver:   imageGraphDriver(s, img.Layers),
		RootFS:        rootFS{Type: "layers", Layers: img.Layers},
	}
	d.Metadata.LastTagTime = time.Time{}.Format(time.RFC3339)
	if d.RepoTags == nil {
		d.RepoTags = []string{}
	}
	if d.RepoDigests == nil {
		d.RepoDigests = []string{}
	}
	return d
}

// imageConfig is an image's config as docker prints it.
func imageConfig(c v1.Config) dockerConfig {
	return dockerConfig{
		Hostname: c.Hostname, Domainname: c.Domainname, User: c.User,
		AttachStdin: c.AttachStdin, AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr,
		ExposedPorts: c.ExposedPorts, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
		Env: c.Env, Cmd: c.Cmd, Healthcheck: c.Healthcheck, ArgsEscaped: c.ArgsEscaped,
		Image: c.Image, Volumes: c.Volumes, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint,
		NetworkDisabled: c.NetworkDisabled, MacAddress: c.MacAddress,
		OnBuild: c.OnBuild, Labels: c.Labels, StopSignal: c.StopSignal, Shell: c.Shell,
	}
}

// imageGraphDriver is docker's overlay2 GraphDriver of an image: the top
// layer's dir as UpperDir and the others, top first, as LowerDir (absent
// for a single layer, as docker's). skiff keeps no merged or work dir per
// image, so there are none to show.
func imageGraphDriver(s *store.Store, layers []string) graphDriver {
	d := graphDriver{Name: graphDriverName, Data: map[string]string{}}
	if len(layers) == 0 {
		return d
	}
	lower := make([]string, 0, len(layers)-1)
	for i := len(layers) - 2; i >= 0; i-- {
		lower = append(lower, s.LayerDir(layers[i]))
	}
	d.Data["UpperDir"] = s.LayerDir(layers[len(layers)-1])
	if len(lower) > 0 {
		d.Data["LowerDir"] = strings.Join(lower, ":")
	}
	return d
}

func shortNames(names []string) []string {
	var out []string
	for _, n := range names {
		out = append(out, registry.ShortName(n))
	}
	return out
}

// goTemplate parses a --format template with docker's template functions;
// like docker it reads a typed backslash-t or backslash-n as tab or newline.
func goTemplate(format string) (*template.Template, error) {
	format = strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
	funcs := template.FuncMap{
		"json": func(v any) (string, error) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				return "", err
			}
			return strings.TrimSpace(b.String()), nil
		},
		"join":  strings.Join,
		"split": strings.Split,
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		"title": func(s string) string {
			if s == "" {
				return s
			}
			return strings.ToUpper(s[:1]) + s[1:]
		},
		"println": fmt.Sprintln,
		"truncate": func(s string, n int) string {
			if len(s) > n {
				return s[:n]
			}
			return s
		},
		"pad": func(s string, l, r int) string {
			return strings.Repeat(" ", l) + s + strings.Repeat(" ", r)
		},
	}
	t, err := template.New("").Funcs(funcs).Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, fmt.Errorf("invalid --format template: %w", err)
	}
	return t, nil
}

// execLine runs a template for one item and ends its output with a newline.
func execLine(w io.Writer, t *template.Template, v any) error {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
