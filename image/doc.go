// Package image owns making images locally: a new image's config and history
// on a parent, new layers stored with the same checks as pulled ones (commit,
// import, build), and images in and out as archives (save, load).
package image
