// Package run is the runtime: the re-exec of a sealed skiff as a
// container's init into new namespaces, or as an exec'd process into a
// running container's (one start path, one typed parent/child protocol:
// protocol.go), the container side of both (user, caps, tini, console),
// and the parent side that waits, relays signals and reports the exit
// status. What is done to a container by its record is package container.
package run
