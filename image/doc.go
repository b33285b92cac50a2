// Package image owns making images locally: a new image's config and history
// on a parent, and new layers stored with the same checks as pulled ones
// (commit and import now; build and load next).
package image
