// Package commands owns skiff's command line: one file per docker verb, each a
// thin body that checks arguments, builds options and calls pull, run or build.
// Global flags and the exit-code policy live in app.go.
package commands
