package spec

import (
	"fmt"
	"strings"
)

// NetworkTapnet is the network of a rootless container (issue 21): a TAP
// device in its own namespace joined to a user-mode TCP/IP stack in its
// monitor (package tapnet), addressed as slirp4netns does. Options follow
// podman's slirp4netns ones: "tapnet:allow_host_loopback=true".
const NetworkTapnet = "tapnet"

// TapnetOptions are NetworkTapnet's options.
type TapnetOptions struct {
	// AllowHostLoopback makes the host's loopback reachable at the
	// gateway's address (off: rootless docker's and podman's default).
	AllowHostLoopback bool
}

// IsTapnet reports whether mode is NetworkTapnet, with or without options.
func IsTapnet(mode string) bool {
	return mode == NetworkTapnet || strings.HasPrefix(mode, NetworkTapnet+":")
}

// ParseTapnet reads the options of a NetworkTapnet mode.
func ParseTapnet(mode string) (TapnetOptions, error) {
	return parseLoopbackOption(NetworkTapnet, mode)
}

// parseLoopbackOption reads name:allow_host_loopback=true|false, podman's
// slirp4netns option, which tapnet and slirp4netns take.
func parseLoopbackOption(name, mode string) (TapnetOptions, error) {
	var o TapnetOptions
	opts, ok := strings.CutPrefix(mode, name+":")
	if !ok {
		return o, nil
	}
	for _, kv := range strings.Split(opts, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "allow_host_loopback" && (v == "true" || v == "false"):
			o.AllowHostLoopback = v == "true"
		default:
			return o, fmt.Errorf("--network %s: unknown option %q (%s knows allow_host_loopback=true|false)", mode, kv, name)
		}
	}
	return o, nil
}

// TapnetHosts are the /etc/hosts names of the host for a tapnet container
// whose host loopback is reachable: docker's and podman's.
var TapnetHosts = []string{"host.docker.internal", "host.containers.internal"}

// The addresses of a tapnet container's network (slirp4netns's): the
// container, its gateway (the user-mode stack, and the host's loopback
// when allowed), the stack's DNS forwarder.
const (
	TapnetIP      = "10.0.2.100"
	TapnetGateway = "10.0.2.2"
	TapnetDNS     = "10.0.2.3"
)

// TapnetResolvConf is a tapnet container's resolv.conf: the stack's
// forwarder as its one name server (it asks the host's, loopback ones
// included, from the monitor), the host's search list and options, or
// --dns and its kin as given (then asked through the stack like any
// outbound traffic).
func TapnetResolvConf(host []byte, o Options) string {
	if len(o.DNS) == 0 {
		o.DNS = []string{TapnetDNS}
	}
	return ResolvConf(host, o, false)
}

// TapnetHostsFile is a tapnet container's /etc/hosts: its address, and
// with the host's loopback allowed docker's and podman's names of the
// host on the gateway; --add-host's host-gateway is the gateway.
func TapnetHostsFile(hostname string, o Options, allowHostLoopback bool) string {
	extra := o.ExtraHosts
	if allowHostLoopback {
		for _, n := range TapnetHosts {
			extra = append(extra, n+":"+TapnetGateway)
		}
	}
	return Hosts(HostsInput{Hostname: hostname, Domainname: o.Domainname, IP: TapnetIP, ExtraHosts: extra, Gateway: TapnetGateway})
}
