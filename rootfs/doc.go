// Package rootfs owns the mounts and views of a container's root: its
// overlay and the init's setup of it (OCI mounts, /dev, pivot_root, masked
// and read-only paths), lookups inside a root (RESOLVE_IN_ROOT), the
// detached views that cp, export and commit read, and docker diff.
package rootfs
