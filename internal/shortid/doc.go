// Package shortid shortens ids as docker shows them (its stringid.TruncateID):
// the first 12 hex digits, without an "algo:" prefix.
package shortid
