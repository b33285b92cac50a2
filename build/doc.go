// Package build owns Dockerfiles: parsing them into a build plan on
// BuildKit's own parser (dockerfile*.go, expand.go), the build context read
// in place with .dockerignore (context*.go), executing a plan (exec*.go),
// and the -c changes of commit and import (change.go).
package build
