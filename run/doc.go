// Package run owns creating and running a container: the OCI config.json built
// from an image and docker's run flags, the re-exec of skiff as the container's
// init into new namespaces or as an exec'd process into a running container's
// (one start path, one typed parent/child protocol: protocol.go), and the
// parent side that waits, relays signals and reports the exit status.
package run
