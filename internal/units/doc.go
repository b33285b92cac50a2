// Package units renders byte counts as docker's CLI does (its go-units):
// decimal "1.234MB" for image, container and download sizes, binary
// "23.47GiB" for memory. Named after docker's package, so a reader who
// knows docker/cli finds HumanSize and BytesSize where they expect them.
package units
