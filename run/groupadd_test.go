package run

import (
	"slices"
	"strings"
	"testing"
)

// TestWithGroups: --group-add by name and by number, added once each; a
// name the group file lacks is docker's error.
func TestWithGroups(t *testing.T) {
	groups := parseGroup(strings.NewReader("root:x:0:\naudio:x:29:\nstaff:x:50:\n"))
	u := execUser{UID: 1000, GID: 1000, Groups: []uint32{1000}}
	got, err := withGroups(u, []string{"audio", "4321", "29", "50"}, groups)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint32{1000, 29, 4321, 50}; !slices.Equal(got.Groups, want) {
		t.Errorf("groups %v, want %v", got.Groups, want)
	}
	if _, err := withGroups(u, []string{"nope"}, groups); err == nil || err.Error() != "unable to find group nope: no matching entries in group file" {
		t.Errorf("unknown group: %v", err)
	}
	if !slices.Equal(u.Groups, []uint32{1000}) {
		t.Errorf("the user's own groups changed: %v", u.Groups)
	}
}
