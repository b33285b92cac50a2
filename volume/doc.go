// Package volume owns docker's local volumes under --root: their
// directories (volumes/<name>/_data), metadata, atomic create, copy-up and
// removal, and the lock that keeps a volume in use from being removed.
package volume
