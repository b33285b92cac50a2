package userns

import (
	"bytes"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
)

// EnvVar marks a process Reexec started inside a rootless user namespace:
// "UID:GID", the host user's ids, which inside read as 0. Everything the
// process starts inherits it (the container's monitor, a CLI the monitor
// runs for exec), so each knows whose store it works on.
const EnvVar = "_SKIFF_USERNS"

// ContainerEnvVar names, in a CLI a container's monitor runs on a
// client's behalf (monitor.RunInside), the container whose user namespace
// it was started in: only there can it join that container's namespaces.
const ContainerEnvVar = "_SKIFF_USERNS_CONTAINER"

var inside struct {
	once sync.Once
	user User
	ok   bool
}

// Inside reports whether this process runs in a rootless skiff's user
// namespace: EnvVar is set and its uid map is not the host's identity
// map (a root shell that inherited the variable is not inside anything).
func Inside() bool {
	inside.once.Do(func() {
		v := os.Getenv(EnvVar)
		if v == "" {
			return
		}
		uid, gid, ok := strings.Cut(v, ":")
		u, err1 := strconv.ParseUint(uid, 10, 32)
		g, err2 := strconv.ParseUint(gid, 10, 32)
		if !ok || err1 != nil || err2 != nil || identityMap() {
			return
		}
		inside.user = User{UID: uint32(u), GID: uint32(g)}
		if pw, err := user.LookupId(uid); err == nil {
			inside.user.Name = pw.Username
		}
		inside.ok = true
	})
	return inside.ok
}

// identityMap reports whether /proc/self/uid_map is the initial
// namespace's "0 0 4294967295".
func identityMap() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	f := bytes.Fields(b)
	return len(f) == 3 && string(f[0]) == "0" && string(f[1]) == "0" && string(f[2]) == "4294967295"
}

// Rootless reports whether this skiff works for an unprivileged user:
// it runs as one on the host, or inside that user's namespace (where it
// is uid 0, yet owns nothing of the host's).
func Rootless() bool { return os.Geteuid() != 0 || Inside() }

// HostUser is the host user this skiff works for: the one Reexec started
// it for when Inside, else the process's own (Current).
func HostUser() User {
	if Inside() {
		return inside.user
	}
	return Current()
}

// JoinedContainer is the id of the container whose user namespace this
// CLI was started in by that container's monitor (ContainerEnvVar), or "".
func JoinedContainer() string {
	if !Inside() {
		return ""
	}
	return os.Getenv(ContainerEnvVar)
}
