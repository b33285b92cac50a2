// Package rootfs owns a container's root filesystem as mounts and views:
// the overlay and the init's setup of its root (OCI mounts, /dev,
// pivot_root, masked and read-only paths), resolving paths inside a root
// (RESOLVE_IN_ROOT), the detached views of a container's root for cp,
// export and commit, and docker diff's reading of its changes.
package rootfs
