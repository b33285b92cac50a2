// Package build will own Dockerfile builds (a later issue); it may import run and pull.
package build
