package monitor

import "testing"

func TestPrestartArgRoundTrip(t *testing.T) {
	for _, p := range []Prestart{{}, {Tty: true}, {OpenStdin: true}, {Tty: true, OpenStdin: true}} {
		got, ok := ParsePrestart(p.arg())
		if !ok || got != p {
			t.Errorf("ParsePrestart(%q) = %+v, %v; want %+v", p.arg(), got, ok, p)
		}
	}
	for _, bad := range []string{"", "prestart", "prestart=x", "tty", "prestart=tx"} {
		if _, ok := ParsePrestart(bad); ok {
			t.Errorf("ParsePrestart(%q) accepted", bad)
		}
	}
}
