//go:build !cgo

package run

// linkedDynamically: see link_cgo.go.
const linkedDynamically = false
