// Package state owns container records: one directory per container under
// --root, written atomically (temp file + rename), and the file locks that
// serialize skiff invocations touching the same container.
package state
