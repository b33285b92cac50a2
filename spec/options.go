package spec

import (
	"strings"

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
	// Network is --network: NetworkBridge (the CLI's default),
	// NetworkHost, NetworkNone, or "container:<name|id>" (create resolves
	// the name to the id). "" (build's RUN containers, tests of the
	// packages below the CLI) is the container's own namespace with
	// loopback only, as NetworkNone.
	Network string
	// ExtraNetworks are further --network values (user networks joined
	// after the first, docker 25's repeated flag); NetworkAliases
	// (--network-alias) and IP (--ip) apply to the first user network;
	// Links are --link NAME[:ALIAS] as typed (create resolves them).
	ExtraNetworks  []string
	NetworkAliases []string
	IP             string
	Links          []string
	// Publish are -p's parsed bindings; PublishAll is -P (create binds
	// every exposed port to a random host port); Expose is --expose's
	// ports ("80/tcp", ranges expanded), merged with the image's EXPOSE.
	Publish    []state.PortBinding
	PublishAll bool
	Expose     []string
	// DNS is --dns, DNSSearch --dns-search, DNSOptions --dns-option,
	// ExtraHosts --add-host ("name:ip", ip may be "host-gateway"), as
	// checked by the CLI.
	DNS        []string
	DNSSearch  []string
	DNSOptions []string
	// Default is the config file's "dns", "dns-search" and "dns-opts":
	// what resolv.conf gets where the flags say nothing (not recorded as
	// the container's flags, as docker's HostConfig.Dns).
	Default    DNSDefaults
	ExtraHosts []string
	MacAddress string // --mac-address, checked
	Domainname string // --domainname

	// Security is --security-opt (ParseSecurityOpts); its values as
	// docker records them go in Host.SecurityOpt.
	Security Security

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

// DNSDefaults are the config file's resolver settings for containers
// without --dns, --dns-search or --dns-option.
type DNSDefaults struct{ Servers, Search, Options []string }

// IsUserNetwork reports whether --network's value names a user network:
// none of docker's modes (bridge, default, host, none, container:X).
func IsUserNetwork(mode string) bool {
	switch mode {
	case "", "default", NetworkBridge, NetworkHost, NetworkNone:
		return false
	}
	if IsUserMode(mode) {
		return false
	}
	return !strings.HasPrefix(mode, NetworkContainerPrefix) && mode != "container"
}
