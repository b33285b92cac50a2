package pull

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "docker.io/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox:1", want: "docker.io/library/busybox:1"},
		{in: "foo/bar", want: "docker.io/foo/bar:latest"},
		{in: "localhost:5000/a/b", want: "localhost:5000/a/b:latest"},
		{in: "127.0.0.1:5000/busybox:t", want: "127.0.0.1:5000/busybox:t"},
		{in: "ghcr.io/o/r:v1", want: "ghcr.io/o/r:v1"},
		{in: "busybox@" + dgst, want: "docker.io/library/busybox@" + dgst},
		{in: "busybox:1.36@" + dgst, want: "docker.io/library/busybox@" + dgst},
		{in: "", wantErr: true},
		{in: "Busybox", wantErr: true},
		{in: "busybox:", wantErr: true},
		{in: "busybox@sha256:abc", wantErr: true},
		{in: " busybox", wantErr: true},
		{in: "a b", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want an error", tt.in, got)
				}
				if !strings.Contains(err.Error(), "invalid reference format") {
					t.Errorf("error %q does not say the format is invalid", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestInsecureAllowed(t *testing.T) {
	tests := []struct {
		host     string
		insecure []string
		want     bool
	}{
		{"localhost:5000", nil, true},
		{"127.0.0.1:5000", nil, true},
		{"127.5.6.7", nil, true},
		{"[::1]:5000", nil, true},
		{"10.0.0.1:5000", nil, false},
		{"192.168.1.2", nil, false},
		{"registry.example.com", nil, false},
		{"registry.example.com:5000", []string{"registry.example.com:5000"}, true},
		{"registry.example.com:5000", []string{"registry.example.com"}, true},
		{"registry.example.com:5000", []string{"other.example.com"}, false},
		{"10.1.2.3:5000", []string{"10.0.0.0/8"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := insecureAllowed(tt.host, tt.insecure); got != tt.want {
				t.Errorf("insecureAllowed(%q, %v) = %v, want %v", tt.host, tt.insecure, got, tt.want)
			}
		})
	}
}

type fakeTransport struct{ got []string }

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.got = append(f.got, r.URL.String())
	return nil, errors.New("stop")
}

// TestHTTPSOnly: plain http goes only to loopback and declared registries,
// even where go-containerregistry would use it (RFC 1918 addresses).
func TestHTTPSOnly(t *testing.T) {
	tests := []struct{ url, want string }{
		{"http://10.0.0.5:5000/v2/", "https://10.0.0.5:5000/v2/"},
		{"http://127.0.0.1:5000/v2/", "http://127.0.0.1:5000/v2/"},
		{"http://reg.local:5000/v2/", "http://reg.local:5000/v2/"},
		{"https://10.0.0.5/v2/", "https://10.0.0.5/v2/"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			f := &fakeTransport{}
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			httpsOnly{base: f, insecure: []string{"reg.local:5000"}}.RoundTrip(req)
			if len(f.got) != 1 || f.got[0] != tt.want {
				t.Errorf("sent %v, want %s", f.got, tt.want)
			}
		})
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		cur, total int64
		want       string
	}{
		{0, 4e6, "[>" + strings.Repeat(" ", 50) + "]  0B/4MB"},
		{1.2e6, 4e6, "[" + strings.Repeat("=", 15) + ">" + strings.Repeat(" ", 35) + "]  1.2MB/4MB"},
		{4e6, 4e6, "[" + strings.Repeat("=", 50) + ">]  4MB/4MB"},
		{1234, 0, "1.234kB"},
	}
	for _, tt := range tests {
		if got := bar(tt.cur, tt.total); got != tt.want {
			t.Errorf("bar(%d, %d) = %q, want %q", tt.cur, tt.total, got, tt.want)
		}
	}
}
