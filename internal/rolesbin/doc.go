// Package rolesbin carries skiff-roles (cmd/skiff-roles), the small
// program of skiff's re-executed roles, inside skiff, and installs it under
// the run root for skiff to execute instead of itself. make builds it in
// (tag skiff_roles, with its digest as Digest); a plain `go build` has no
// payload, and Binary is then skiff itself: slower, the same behaviour.
package rolesbin
