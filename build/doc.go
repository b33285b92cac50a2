// Package build owns Dockerfile instructions: today the -c changes of commit
// and import; Dockerfile builds next (a later issue), which may import run,
// registry and image.
package build
