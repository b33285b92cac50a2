// Package rootfs owns the mounts and views of a container's root: its
// overlay and the init's setup of it (OCI mounts, /dev, pivot_root, masked
// and read-only paths, the console, each mounted fd to fd from checked
// sources), lookups inside a root (RESOLVE_IN_ROOT), the checked procfs the
// init writes /proc through, the detached views that cp, export and commit
// read, docker diff, and how a rootless overlay is mounted here (the
// per-boot probe of native overlay with userxattr or fuse-overlayfs).
package rootfs
