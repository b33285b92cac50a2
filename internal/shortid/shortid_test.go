package shortid

import (
	"strings"
	"testing"
)

func TestOf(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	tests := []struct{ id, want string }{
		{hex, "0123456789ab"},
		{"sha256:" + hex, "0123456789ab"},
		{"0123456789ab", "0123456789ab"},
		{"abc", "abc"},
		{"sha256:abc", "abc"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Of(tt.id); got != tt.want {
			t.Errorf("Of(%q) = %q, want %q", tt.id, got, tt.want)
		}
	}
}
