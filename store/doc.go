// Package store owns the image store under --root shared by pull, run, build,
// commit and load: content-addressed blobs, extracted layers keyed by diffID,
// image records and the tag index.
//
// Every layer is kept twice on purpose: the compressed blob exactly as it was
// pulled (blobs/sha256/<digest>) and its extracted tree (layers/<diffID>/diff).
// The tree is what run mounts; the blob, with the raw manifest and config
// bytes, is what lets push and save hand an image back byte-identical (same
// manifest, config and layer digests) without recompressing, which would give
// new digests. Nothing becomes visible before it is complete and verified: a
// layer is extracted under layers/.tmp and published by one rename, records are
// written to a temp file and renamed, and an image record is written only after
// all its layers are published.
package store
