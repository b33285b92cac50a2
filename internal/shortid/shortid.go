package shortid

import "strings"

// Len is how many hex digits docker shows of an id.
const Len = 12

// Of is id as docker shows it: without an "algo:" prefix ("sha256:"),
// then at most Len characters ("4d27b9c5a1e0"). A shorter id is left whole.
func Of(id string) string {
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[i+1:]
	}
	if len(id) > Len {
		return id[:Len]
	}
	return id
}
