package container

import (
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/spec"
)

// The config file's "dns", "dns-search" and "dns-opts" stand in for the
// flags a container does not give, never for those it gives.
func TestResolvConfDefaults(t *testing.T) {
	def := spec.DNSDefaults{Servers: []string{"10.200.0.2"}, Search: []string{"cfg.example"}, Options: []string{"ndots:3"}}
	tests := []struct {
		name      string
		o         spec.Options
		want      []string
		wantNotIn []string
	}{
		{"defaults", spec.Options{Default: def},
			[]string{"nameserver 10.200.0.2", "search cfg.example", "options ndots:3"}, nil},
		{"flags win", spec.Options{Default: def, DNS: []string{"10.9.9.9"}, DNSSearch: []string{"flag.example"}, DNSOptions: []string{"ndots:1"}},
			[]string{"nameserver 10.9.9.9", "search flag.example", "options ndots:1"},
			[]string{"10.200.0.2", "cfg.example", "ndots:3"}},
	}
	for _, tt := range tests {
		got := resolvConf(tt.o, false)
		for _, w := range tt.want {
			if !strings.Contains(got, w+"\n") {
				t.Errorf("%s: resolv.conf has no %q:\n%s", tt.name, w, got)
			}
		}
		for _, w := range tt.wantNotIn {
			if strings.Contains(got, w) {
				t.Errorf("%s: resolv.conf has %q:\n%s", tt.name, w, got)
			}
		}
	}
}
