// Package archive owns skiff's tar codec: the one extractor of hostile tar
// streams (pulled and imported layers, cp into a container), the one tree
// writer (commit, export, cp out of a container) and the overlay whiteout
// convention both speak. Taking gzip or zstd off a stream is
// internal/decompress's, so that rootfs and container (linked into the
// re-exec'd init and monitor) do not reach klauspost/compress.
//
// Safety: every directory the extractor writes into is held as an fd that
// was opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|
// RESOLVE_NO_MAGICLINKS) relative to an fd opened the same way, starting at
// the destination; entries are then created by one name relative to that
// fd with calls that never follow a final symlink. So no entry, and no link
// planted in the destination by a running container meanwhile, can make a
// write land outside it: the kernel refuses every symlink and ".." on the
// way, not a check of ours that a race could get round. The directory fds
// are cached (up to maxCachedDirs), because a layer lists thousands of
// entries per directory and resolving each parent again cost pull its
// speed; a cache hit costs no syscall, a miss one openat2 of one component.
// Names with ".." are refused before any of that, with a message that
// names the entry.
//
// The writer walks by directory fd the same way, opening each entry by one
// name with O_NOFOLLOW: a symlink inside the tree is archived as a link and
// never followed, whoever swaps it in while the walk runs.
package archive
