// Package server is a container's monitor process: skiff re-exec'd in its
// own session (package monitor spawns it), the parent of the container's
// init for the container's whole life, owning its stdio, log, exit record,
// --rm and restart policy, and serving attach clients on the container's
// socket (docs/design.md).
package server
