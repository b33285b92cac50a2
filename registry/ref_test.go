package registry

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
	}{
		{in: "busybox", want: "docker.io/library/busybox:latest"},
		{in: "busybox:1.36", want: "docker.io/library/busybox:1.36"},
		{in: "busybox:Latest", want: "docker.io/library/busybox:Latest"},
		{in: "library/busybox", want: "docker.io/library/busybox:latest"},
		{in: "docker.io/busybox", want: "docker.io/library/busybox:latest"},
		{in: "index.docker.io/library/busybox:1", want: "docker.io/library/busybox:1"},
		{in: "foo/bar", want: "docker.io/foo/bar:latest"},
		{in: "a__b/c--d.e_f", want: "docker.io/a__b/c--d.e_f:latest"},
		{in: "localhost:5000/a/b", want: "localhost:5000/a/b:latest"},
		{in: "localhost/a", want: "localhost/a:latest"},
		{in: "127.0.0.1:5000/busybox:t", want: "127.0.0.1:5000/busybox:t"},
		{in: "[::1]:5000/busybox", want: "[::1]:5000/busybox:latest"},
		{in: "REG.example.com/a", want: "REG.example.com/a:latest"},
		{in: "ghcr.io/o/r:v1", want: "ghcr.io/o/r:v1"},
		{in: "busybox@" + dgst, want: "docker.io/library/busybox@" + dgst},
		{in: "busybox:1.36@" + dgst, want: "docker.io/library/busybox@" + dgst},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestNormalizeRefusesAsDocker: what docker's reference parser refuses is
// refused, in its words.
func TestNormalizeRefusesAsDocker(t *testing.T) {
	const hex64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ in, want string }{
		{"", "invalid reference format"},
		{"-", "invalid reference format"},
		{"/library/busybox", "invalid reference format"},
		{"127.0.0.1:5000//busybox", "invalid reference format"},
		{"busybox/", "invalid reference format"},
		{"busybox:", "invalid reference format"},
		{"busybox@sha256:abc", "invalid reference format"},
		{"busybox:-x", "invalid reference format"},
		{" busybox", "invalid reference format"},
		{"a b", "invalid reference format"},
		{"a_/b", "invalid reference format"},
		{"busybox:" + strings.Repeat("t", 129), "invalid reference format"},
		{"Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"},
		{"busybox:Latest@sha256:x", "invalid reference format"},
		{"127.0.0.1:5000/Library/x", "invalid reference format: repository name (Library/x) must be lowercase"},
		{"Foo_bar/x", "repository name must be lowercase"},
		{"busybox@sha256:" + hex64[:32], "invalid checksum digest length"},
		{"busybox@md5:" + hex64[:32], "unsupported digest algorithm"},
		{hex64, "invalid repository name (" + hex64 + "), cannot specify 64-byte hexadecimal strings"},
		{"a/" + strings.Repeat("b", 255), "repository name must not be more than 255 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err == nil {
				t.Fatalf("Normalize(%q) = %q, want error %q", tt.in, got, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Normalize(%q): error %q, want %q", tt.in, err, tt.want)
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

func TestShortName(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/busybox:latest":   "busybox:latest",
		"docker.io/foo/bar:1":                "foo/bar:1",
		"docker.io/library/busybox@sha256:x": "busybox@sha256:x",
		"127.0.0.1:5000/busybox:latest":      "127.0.0.1:5000/busybox:latest",
		"ghcr.io/library/x:1":                "ghcr.io/library/x:1",
	} {
		t.Run(in, func(t *testing.T) {
			if got := ShortName(in); got != want {
				t.Errorf("ShortName(%q) = %q, want %q", in, got, want)
			}
		})
	}
}
