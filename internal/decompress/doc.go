// Package decompress takes gzip, zstd, xz or bzip2 off a layer, import or load stream, chosen
// by its first bytes. It is apart from archive so that the packages the
// re-exec'd init and monitor link (rootfs, container, through archive) do not
// reach klauspost/compress and its package-level tables.
package decompress
