package userns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Apply writes m into the maps of process pid: a child the caller started
// with CLONE_NEWUSER that waits, maps unwritten, until they are. Each kind
// with ranges is written by its helper (newuidmap PID 0 UID 1 1 START
// COUNT ...); a single-id kind is written here, as the kernel lets an
// unprivileged process map its own id into a namespace it owns (a gid
// after "deny" in /proc/PID/setgroups, which the kernel requires first).
// uids and gids are independent, as in podman: one file may grant ranges
// and the other none. The caller runs as m.User and holds pid as its
// unreaped child, so pid names that child.
//
// The child must execve after its maps are written (or not have exec'd
// yet): the kernel gives a process its capabilities in the namespace at
// execve, as its root only if its uid maps to 0 by then. A child that
// exec'd with its maps unwritten stays without capabilities (a chown
// inside fails with EPERM) until it execs again; the root test's child
// does that.
func Apply(pid int, m Mapping) error { return Helpers{}.Apply(pid, m) }

// Apply is Apply with h's helpers. The uids and gids are written at once:
// they are different files, and each helper is a setuid program's exec,
// milliseconds that a rootless start pays on its path.
func (h Helpers) Apply(pid int, m Mapping) error {
	uidErr := make(chan error, 1)
	go func() { uidErr <- h.applyKind(pid, uidKind, m.UIDs) }()
	gidErr := h.applyKind(pid, gidKind, m.GIDs)
	if err := <-uidErr; err != nil {
		return err
	}
	return gidErr
}

func (h Helpers) applyKind(pid int, k *kind, maps []specs.LinuxIDMapping) error {
	if Single(maps) {
		return writeSingle(pid, k, maps[0])
	}
	path, err := h.lookup(k)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, append([]string{strconv.Itoa(pid)}, mapLines(maps)...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%s %d: %s: %w", k.helper, pid, firstLine(msg), err)
		}
		return fmt.Errorf("%s %d: %w", k.helper, pid, err)
	}
	return nil
}

// writeSingle writes the single-id map of k itself.
func writeSingle(pid int, k *kind, m specs.LinuxIDMapping) error {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	if k == gidKind {
		if err := writeProc(dir+"setgroups", "deny"); err != nil {
			return fmt.Errorf("single-id gid map: %w", err)
		}
	}
	line := fmt.Sprintf("%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	if err := writeProc(dir+k.mapFile, line); err != nil {
		return fmt.Errorf("single-id %s map: %w", k.id, err)
	}
	return nil
}

// writeProc writes a /proc file in one write, as the kernel takes a map
// (a second write is refused): opened for writing only, never created.
func writeProc(path, data string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// firstLine keeps an error one line: a helper's stderr may have several.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
