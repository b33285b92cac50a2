package commands

import (
	"bytes"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

func TestParseDetachKeys(t *testing.T) {
	tests := []struct {
		in      string
		want    []byte
		wantErr bool
	}{
		{"", []byte{0x10, 0x11}, false},
		{"ctrl-p,ctrl-q", []byte{0x10, 0x11}, false},
		{"ctrl-a", []byte{0x01}, false},
		{"a,ctrl-x", []byte{'a', 0x18}, false},
		{"ctrl-@,ctrl-_", []byte{0x00, 0x1f}, false},
		{"ctrl-", nil, true},
		{"ctrl-pp", nil, true},
		{"ab", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDetachKeys(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("keys %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRestart(t *testing.T) {
	tests := []struct {
		in      string
		want    state.RestartPolicy
		wantErr bool
	}{
		{"", state.RestartPolicy{Name: "no"}, false},
		{"no", state.RestartPolicy{Name: "no"}, false},
		{"always", state.RestartPolicy{Name: "always"}, false},
		{"unless-stopped", state.RestartPolicy{Name: "unless-stopped"}, false},
		{"on-failure", state.RestartPolicy{Name: "on-failure"}, false},
		{"on-failure:3", state.RestartPolicy{Name: "on-failure", MaximumRetryCount: 3}, false},
		{"on-failure:-1", state.RestartPolicy{}, true},
		{"on-failure:x", state.RestartPolicy{}, true},
		{"always:3", state.RestartPolicy{}, true},
		{"sometimes", state.RestartPolicy{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRestart(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Fatalf("policy %+v, want %+v", got, tt.want)
			}
		})
	}
}
