// Package tapnet is a rootless container's network: a TAP device in the
// container's namespace served by gVisor's user-mode TCP/IP stack, which
// carries the container's connections out through the caller's own sockets,
// answers DNS at 10.0.2.3 from the host's resolvers and publishes ports
// (slirp4netns' addresses and role, in process).
package tapnet

// The addresses are slirp4netns' so a container sees what it would under
// podman's default rootless network.
const (
	ContainerCIDR = "10.0.2.100/24"
	Gateway       = "10.0.2.2"
	DNS           = "10.0.2.3"
	MTU           = 65520
	TapName       = "tap0"
)
