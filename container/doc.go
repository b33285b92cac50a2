// Package container owns the host side of a container by its record:
// create, the one lookup, reconcile, start (spawning its monitor), stop,
// kill, wait, remove, pause, rename, and its files for cp, export, commit
// and diff, all through one Store of the two store paths.
package container
