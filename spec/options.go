package spec

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/state"
)

// Options are docker run's flags that skiff supports, as parsed by the CLI.
type Options struct {
	ImageRef string   // the image as the user typed it
	Args     []string // command and arguments after IMAGE (replace the image's Cmd)

	Name string
	// Env holds -e values in order: "K=V", or "K" to take the caller's value.
	Env []string
	// EnvFile holds the --env-file lines already read, in order (env files
	// come before -e, so -e wins).
	EnvFile    []string
	Workdir    string
	User       string
	Entrypoint *string // nil: the image's; "" clears it
	Hostname   string

	Interactive bool
	Tty         bool
	Remove      bool
	Detach      bool

	Restart     state.RestartPolicy // --restart
	Init        bool                // --init
	StopSignal  string              // --stop-signal ("" = the image's or SIGTERM)
	StopTimeout *int                // --stop-timeout in seconds
	Labels      map[string]string   // -l/--label
	// Network "host" shares the host's network namespace (build's RUN
	// --network host; run's --network comes with the networking issue);
	// anything else gives the container its own, loopback only.
	Network string

	// Host is what the mount flags asked for (ParseMounts): create
	// resolves it (volumes, --volumes-from, the image's VOLUME) into the
	// record's Host.
	Host state.Host
}

// Image is what a container needs of a stored image: the command layer
// (the CLI) resolves the reference and pulls; container and run never do.
type Image struct {
	ID        string   // "sha256:<hex>"
	LayerDirs []string // extracted layer dirs, bottom -> top
	Config    v1.Config
}
