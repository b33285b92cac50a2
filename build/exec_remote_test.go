package build

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRemoteNames(t *testing.T) {
	for _, tt := range []struct {
		src, name string
		git, url  bool
	}{
		{"http://127.0.0.1:8/a/b.tar.gz?x=1", "b.tar.gz", false, true},
		{"https://example.com/", "__unnamed__", false, true},
		{"https://github.com/moby/moby.git#v1", "moby.git", true, true},
		{"git@github.com:moby/moby.git", "", true, false},
		{"git://host/repo", "", true, false},
		{"local/file", "", false, false},
	} {
		if IsGitURL(tt.src) != tt.git || IsURL(tt.src) != tt.url {
			t.Errorf("%s: git %v url %v, want %v %v", tt.src, IsGitURL(tt.src), IsURL(tt.src), tt.git, tt.url)
		}
		if tt.name != "" && remoteName(tt.src) != tt.name {
			t.Errorf("%s: named %s, want %s", tt.src, remoteName(tt.src), tt.name)
		}
	}
}

// A redirect may stay on loopback, never leave it.
func TestCheckRedirect(t *testing.T) {
	req := func(s string) *http.Request {
		u, _ := url.Parse(s)
		return &http.Request{URL: u}
	}
	from := []*http.Request{req("http://127.0.0.1:1/a")}
	if err := checkRedirect(req("http://localhost:2/b"), from); err != nil {
		t.Errorf("loopback to loopback: %v", err)
	}
	if err := checkRedirect(req("http://192.0.2.1/b"), from); err == nil {
		t.Error("a redirect off loopback is followed")
	}
}
