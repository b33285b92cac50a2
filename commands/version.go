package commands

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
)

func init() { register(versionCommand) }

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:   "version",
		Usage:  "show the skiff version information",
		Flags:  []cli.Flag{formatFlag()},
		Action: runVersion,
	}
}

// GitCommit and BuildTime are set at link time by the Makefile when the
// binary carries no VCS stamp (Go stamps none in a git worktree or with
// -buildvcs=false); BuildTime is the commit's time (RFC 3339), which keeps
// builds reproducible as docker's SOURCE_DATE_EPOCH builds are.
var (
	GitCommit string
	BuildTime string
)

const (
	// APIVersion is the Engine API version a docker CLI of the 27.x line
	// (the release whose behaviour skiff follows) speaks: scripts compare
	// `{{.Server.APIVersion}}` against it to gate features. skiff serves no
	// API socket; the number says which docker behaviour to expect.
	APIVersion = "1.47"
	// MinAPIVersion is the oldest API version docker 27's engine accepts.
	MinAPIVersion = "1.24"
	// platformName is what docker prints after "Server:" ("Docker Engine - Community").
	platformName = "skiff"
)

// clientVersion is docker's client half of `version`, with its JSON keys.
type clientVersion struct {
	Platform          *platformInfo `json:"Platform,omitempty"`
	Version           string        `json:"Version,omitempty"`
	APIVersion        string        `json:"ApiVersion,omitempty"`
	DefaultAPIVersion string        `json:"DefaultAPIVersion,omitempty"`
	GitCommit         string        `json:"GitCommit,omitempty"`
	GoVersion         string        `json:"GoVersion,omitempty"`
	Os                string        `json:"Os,omitempty"`
	Arch              string        `json:"Arch,omitempty"`
	BuildTime         string        `json:"BuildTime,omitempty"`
	Context           string        `json:"Context"`
}

type platformInfo struct {
	Name string
}

// componentVersion is one of the server's components; skiff has only its
// engine (no containerd, runc or docker-init binaries).
type componentVersion struct {
	Name    string
	Version string
	Details map[string]string `json:",omitempty"`
}

// serverVersion is docker's server half (the Engine API's GET /version).
type serverVersion struct {
	Platform      platformInfo
	Components    []componentVersion
	Version       string
	APIVersion    string `json:"ApiVersion"`
	MinAPIVersion string `json:"MinAPIVersion,omitempty"`
	GitCommit     string
	GoVersion     string
	Os            string
	Arch          string
	KernelVersion string `json:",omitempty"`
	Experimental  bool   `json:",omitempty"`
	BuildTime     string `json:",omitempty"`
}

// versionDoc is what `version --format` templates see: {{.Client.Version}},
// {{.Server.APIVersion}}, ...
type versionDoc struct {
	Client clientVersion
	Server *serverVersion
}

// buildInfo is where and when this binary was made.
type buildInfo struct {
	commit string // short hash, "-dirty" when built from a modified tree
	time   string // RFC 3339, or ""
}

// buildStamp prefers the Go toolchain's VCS stamp over the Makefile's link
// flags: it is there for any `go build` in a plain checkout.
func buildStamp() buildInfo {
	b := buildInfo{commit: GitCommit, time: BuildTime}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	var rev, when string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return b
	}
	if len(rev) > 7 {
		rev = rev[:7] // docker's short commit
	}
	if modified {
		rev += "-dirty"
	}
	return buildInfo{commit: rev, time: when}
}

// ansicTime is docker's "Built:" rendering of an RFC 3339 time (time.ANSIC);
// anything else is shown as it is.
func ansicTime(s string) string {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Format(time.ANSIC)
	}
	return s
}

func newClientVersion() clientVersion {
	b := buildStamp()
	return clientVersion{
		Version: Version, APIVersion: APIVersion, DefaultAPIVersion: APIVersion,
		GitCommit: b.commit, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH,
		BuildTime: ansicTime(b.time), Context: "default",
	}
}

// newServerVersion describes skiff's engine, which is this same binary: the
// CLI and the "server" share version, commit and build.
func newServerVersion(kernel string) *serverVersion {
	b := buildStamp()
	s := &serverVersion{
		Platform: platformInfo{Name: platformName},
		Version:  Version, APIVersion: APIVersion, MinAPIVersion: MinAPIVersion,
		GitCommit: b.commit, GoVersion: runtime.Version(), Os: runtime.GOOS, Arch: runtime.GOARCH,
		KernelVersion: kernel, BuildTime: b.time,
	}
	s.Components = []componentVersion{{Name: "Engine", Version: Version, Details: map[string]string{
		"ApiVersion": APIVersion, "MinAPIVersion": MinAPIVersion, "GitCommit": b.commit,
		"GoVersion": s.GoVersion, "Os": s.Os, "Arch": s.Arch, "KernelVersion": kernel,
		"BuildTime": ansicTime(b.time), "Experimental": strconv.FormatBool(s.Experimental),
	}}}
	return s
}

func runVersion(c *cli.Context) error {
	if c.NArg() > 0 {
		return &ExitError{1, fmt.Errorf("%q accepts no arguments.", "skiff "+c.Command.FullName())}
	}
	doc := versionDoc{Client: newClientVersion(), Server: newServerVersion(hostUname().release)}
	if f := c.String("format"); f != "" {
		return printFormat(os.Stdout, f, doc)
	}
	return printVersion(os.Stdout, doc)
}

// printVersion is docker's `version` layout: values aligned in a column
// that starts at 20 characters.
func printVersion(w io.Writer, d versionDoc) error {
	tw := tabwriter.NewWriter(w, 20, 1, 1, ' ', 0)
	cl := d.Client
	fmt.Fprintf(tw, "Client:\n Version:\t%s\n API version:\t%s\n Go version:\t%s\n Git commit:\t%s\n Built:\t%s\n OS/Arch:\t%s/%s\n Context:\t%s\n",
		cl.Version, cl.APIVersion, cl.GoVersion, cl.GitCommit, cl.BuildTime, cl.Os, cl.Arch, cl.Context)
	if s := d.Server; s != nil {
		e := s.Components[0].Details
		fmt.Fprintf(tw, "\nServer: %s\n Engine:\n  Version:\t%s\n  API version:\t%s (minimum version %s)\n  Go version:\t%s\n  Git commit:\t%s\n  Built:\t%s\n  OS/Arch:\t%s/%s\n  Experimental:\t%s\n",
			s.Platform.Name, s.Version, e["ApiVersion"], e["MinAPIVersion"], e["GoVersion"], e["GitCommit"], e["BuildTime"], e["Os"], e["Arch"], e["Experimental"])
	}
	return tw.Flush()
}
