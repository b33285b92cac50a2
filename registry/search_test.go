package registry

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestSplitSearchTerm(t *testing.T) {
	for _, tt := range []struct{ term, host, rest string }{
		{"busybox", dockerHub, "busybox"},
		{"bitnami/redis", dockerHub, "bitnami/redis"},
		{"docker.io/library/busybox", dockerHub, "library/busybox"},
		{"index.docker.io/busybox", dockerHub, "busybox"},
		{"127.0.0.1:5000/busy", "127.0.0.1:5000", "busy"},
		{"localhost/x", "localhost", "x"},
		{"reg.example.com/", "reg.example.com", ""},
	} {
		host, rest := splitSearchTerm(tt.term)
		if host != tt.host || rest != tt.rest {
			t.Errorf("splitSearchTerm(%q) = %q, %q; want %q, %q", tt.term, host, rest, tt.host, tt.rest)
		}
	}
}

// TestHubSearch: a bare term goes to Hub's /v1/search (here a loopback
// server given by the test hook) with docker's q and n parameters.
func TestHubSearch(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		query = r.URL.RawQuery
		json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query().Get("q"), "num_results": 3, "results": []SearchResult{
			{Name: "busybox", Description: "Busybox base image.", StarCount: 3000, IsOfficial: true},
			{Name: "a/busybox", StarCount: 4},
			{Name: "b/busybox", StarCount: 1, IsAutomated: true},
		}})
	}))
	defer srv.Close()
	t.Setenv(HubSearchEnv, srv.URL)
	got, err := Search(context.Background(), "busybox", SearchOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if query != "q=busybox&n=2" {
		t.Errorf("query %q, want q=busybox&n=2", query)
	}
	if len(got) != 2 || got[0].Name != "busybox" || !got[0].IsOfficial || got[0].StarCount != 3000 {
		t.Errorf("got %+v", got)
	}
}

// TestHubSearchHookLoopbackOnly: the test hook cannot send a search elsewhere.
func TestHubSearchHookLoopbackOnly(t *testing.T) {
	t.Setenv(HubSearchEnv, "http://203.0.113.9:80")
	if got := hubBase(); got != hubSearchURL {
		t.Errorf("hubBase() = %q, want Hub's", got)
	}
}

// TestCatalogSearch: a registry prefix searches that registry's catalog,
// each match with its tags.
func TestCatalogSearch(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(nilLogger())))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"tools/busybox:1", "tools/busybox:2", "alpine:3"} {
		r, err := name.ParseReference(host+"/"+ref, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Search(context.Background(), host+"/busy", SearchOptions{Limit: 25})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != host+"/tools/busybox" || got[0].Description != "tags: 1, 2" {
		t.Errorf("got %+v", got)
	}
	all, err := Search(context.Background(), host+"/", SearchOptions{Limit: 1})
	if err != nil || len(all) != 1 {
		t.Errorf("limit 1 over the whole catalog: %+v, %v", all, err)
	}
}
