// Package store owns the image store under --root shared by pull, run, build,
// commit and load: content-addressed blobs, extracted layers keyed by diffID,
// image records and the tag index.
package store
