// Package decompress takes gzip or zstd off a layer or import stream, chosen
// by its first bytes. It is apart from archive so that the packages the
// re-exec'd init and monitor link (rootfs, container, through archive) do not
// reach klauspost/compress and its package-level tables.
package decompress
