// Package timeline records and prints skiff's -D phase marks, one line per
// phase of the CLI, the monitor and the container's init (or exec's
// process): "skiff: debug: <process> <phase> <ms>", ms counted on one clock
// from the CLI's start.
package timeline
