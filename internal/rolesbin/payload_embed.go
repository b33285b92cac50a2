//go:build skiff_roles

package rolesbin

import _ "embed"

// payload is cmd/skiff-roles as make built it into this directory.
//
//go:embed skiff-roles
var payload string
