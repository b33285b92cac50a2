// Package userns owns the user namespace of a rootless skiff: the
// subordinate ids /etc/subuid and /etc/subgid grant a user, the mapping made
// of them (podman's: the user to root, then the ranges), the checks made
// before a pull starts, and writing a child's maps through the
// distribution's newuidmap and newgidmap.
package userns
