// Package fs owns what skiff does to files: extracting an image layer's tar
// stream into a directory (OCI whiteouts turned into overlay ones, no path
// escaping the target), and assembling a container's root filesystem (overlay
// mount, pivot_root, /proc, /dev and /sys as docker sets them up).
package fs
