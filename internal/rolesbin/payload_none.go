//go:build !skiff_roles

package rolesbin

// payload is empty in a build without make's skiff_roles tag.
const payload = ""
