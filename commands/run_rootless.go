package commands

// What run and create decide differently for a rootless container (issue
// 20): its network is tapnet (issue 21), and its cgroup is below what the host delegates to the user, if
// anything: the limits that cannot hold get one warning and are ignored
// (podman's behaviour).

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// rootless says whether this skiff works for an unprivileged user (a
// variable so that tests can decide).
var rootless = userns.Rootless

// delegated is the cgroup delegation of the user this skiff works for.
// cgroup.Delegated judges ownership against the effective uid, which is
// right on either side of the re-exec: on the host the user's own uid;
// inside the user namespace 0, as which the user's files read there (the
// host's root-owned ones read as the overflow uid, so none is taken for
// the user's). userns.HostUser's uid would match nothing inside.
var delegated = cgroup.Delegated

// rootlessNetwork makes a rootless container's network: no --network, or
// docker's default bridge by name, is tapnet (its own namespace, a TAP to
// the user-mode stack its monitor runs: docker's rootless default network
// is called "bridge" too); none, host and tapnet's own options are as
// typed; a user network or another container's namespace is refused in
// one line saying what to do. networks are --network's values as typed.
func rootlessNetwork(o *spec.Options, networks []string) error {
	if len(networks) == 0 {
		o.Network = spec.NetworkTapnet
		return nil
	}
	for _, v := range networks {
		m, err := networkMode(v)
		switch {
		case err != nil:
			return err
		case m == spec.NetworkBridge:
			o.Network = spec.NetworkTapnet
		case spec.IsUserNetwork(m):
			return fmt.Errorf("--network %s: user-defined networks are not supported yet for rootless containers (use the default network, none or host, or run skiff as root)", v)
		case strings.HasPrefix(m, spec.NetworkContainerPrefix):
			// Each rootless create runs in a user namespace of its own,
			// which has no say over another container's namespaces.
			return fmt.Errorf("--network %s: a rootless container cannot join another container's network namespace (each has a user namespace of its own): drop it, or run skiff as root", v)
		}
	}
	return nil
}

// rootlessLimits places a rootless container's cgroup: below d's
// delegated subtree (recorded in l, for every later command), or nowhere.
// It returns the warning for the limits that cannot hold there ("": none).
// --cgroup-parent names a place at each hierarchy's root, root's only.
func rootlessLimits(l *state.Limits, d cgroup.Delegation) (string, error) {
	if l.CgroupParent != "" {
		return "", errors.New("--cgroup-parent is not supported for rootless containers: drop it, or run skiff as root")
	}
	if d.Subtree != "" {
		l.CgroupMount, l.CgroupSubtree = d.Mount, d.Subtree
	}
	return cgroup.IgnoredLimits(spec.Resources(*l), d), nil
}

// printRootlessLimits is rootlessLimits for run and create: the warning
// printed as docker's CLI prints its own, once.
func printRootlessLimits(l *state.Limits) error {
	w, err := rootlessLimits(l, delegated())
	if err != nil {
		return err
	}
	if w != "" {
		fmt.Fprintln(os.Stderr, "WARNING:", w)
	}
	return nil
}

// rootlessUpdateWarning is update's warning for a rootless container's
// limits l that cannot hold: against the delegation its create recorded,
// or why it has none.
func rootlessUpdateWarning(l state.Limits) string {
	if d := cgroup.Recorded(l.CgroupMount, l.CgroupSubtree); d != nil {
		return cgroup.IgnoredLimits(spec.Resources(l), *d)
	}
	d := delegated()
	if d.Subtree != "" {
		// Delegated now, not when it was created: it has no cgroup.
		d = cgroup.Delegation{Reason: "the container was created without one"}
	}
	return cgroup.IgnoredLimits(spec.Resources(l), d)
}

// rootlessNamespaces refuses, in one line saying what to do, the --pid
// and --ipc modes a rootless container cannot have: another container's
// namespaces belong to that container's user namespace, a sibling of ours
// (setns is refused), and a /proc for the host's PID namespace cannot be
// mounted from a user namespace (the kernel wants CAP_SYS_ADMIN over the
// host's). --ipc host works (without a /dev/mqueue: spec.rootlessMount).
func rootlessNamespaces(pid, ipc string) error {
	for _, m := range []struct{ flag, mode string }{{"--pid", pid}, {"--ipc", ipc}} {
		if strings.HasPrefix(m.mode, spec.NetworkContainerPrefix) {
			return fmt.Errorf("%s %s: a rootless container cannot join another container's namespaces (each has a user namespace of its own): drop it, or run skiff as root", m.flag, m.mode)
		}
	}
	if pid == "host" {
		return errors.New("--pid host: a rootless container cannot mount a /proc of the host's PID namespace (it belongs to the host's user namespace): drop it, or run skiff as root")
	}
	return nil
}
