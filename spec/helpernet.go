package spec

import (
	"fmt"
	"strings"
)

// The user-mode networks of helper programs (issue 21), for comparison
// with tapnet and compatibility with podman: the container's monitor runs
// the helper at each start, pointed at the init's network namespace.
// Neither is ever needed: tapnet stays the rootless default.
const (
	// NetworkSlirp4netns is slirp4netns: a TAP in the container's
	// namespace served by libslirp, with tapnet's addresses (10.0.2.100/24,
	// gateway 10.0.2.2, DNS 10.0.2.3); podman's option
	// "slirp4netns:allow_host_loopback=true".
	NetworkSlirp4netns = "slirp4netns"
	// NetworkPasta is pasta (the passt package): the container's
	// interface copies the host's addresses and routes; no options.
	NetworkPasta = "pasta"
)

// HelperNetwork is the helper program a mode runs (NetworkSlirp4netns or
// NetworkPasta, with or without options), "" for any other mode.
func HelperNetwork(mode string) string {
	for _, h := range []string{NetworkSlirp4netns, NetworkPasta} {
		if mode == h || strings.HasPrefix(mode, h+":") {
			return h
		}
	}
	return ""
}

// IsUserMode reports whether mode is a user-mode network: tapnet or a
// helper's. None is a user network; each has its own resolv.conf.
func IsUserMode(mode string) bool { return IsTapnet(mode) || HelperNetwork(mode) != "" }

// ParseHelperNetwork reads the options of a helper's mode: slirp4netns
// knows allow_host_loopback=true|false (as tapnet), pasta none.
func ParseHelperNetwork(mode string) (TapnetOptions, error) {
	switch h := HelperNetwork(mode); h {
	case NetworkSlirp4netns:
		return parseLoopbackOption(h, mode)
	case NetworkPasta:
		if mode != NetworkPasta {
			return TapnetOptions{}, fmt.Errorf("--network %s: skiff passes pasta no options of yours", mode)
		}
		return TapnetOptions{}, nil
	}
	return TapnetOptions{}, fmt.Errorf("--network %s: not a helper's network", mode)
}
