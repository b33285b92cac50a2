//go:build cgo

package run

// linkedDynamically: a cgo build of skiff loads libc through the host's
// dynamic loader, which an exec'd process, started inside the container,
// does not find there.
const linkedDynamically = true
