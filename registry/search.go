package registry

// Search, docker's `search TERM`: Docker Hub's /v1/search for a bare term,
// and for a term naming a registry (127.0.0.1:5000/term) that registry's
// /v2/_catalog with each match's tags, since a distribution registry
// offers no search endpoint; one without a catalog is asked /v1/search as
// docker asks it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// SearchResult is one repository found, with docker's JSON names.
type SearchResult struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	StarCount   int    `json:"star_count"`
	IsOfficial  bool   `json:"is_official"`
	IsAutomated bool   `json:"is_automated"`
}

// SearchOptions tune a search.
type SearchOptions struct {
	Limit    int      // at most this many results (docker's 1..100, default 25)
	Insecure []string // registries reached over plain http besides loopback
}

// hubSearchURL is where Docker Hub answers /v1/search.
const hubSearchURL = "https://index.docker.io"

// HubSearchEnv is a test hook: the base URL (http://127.0.0.1:PORT) of a
// server speaking Hub's /v1/search, used instead of index.docker.io, which
// tests cannot reach. Only a loopback URL is taken.
const HubSearchEnv = "SKIFF_TEST_HUB_SEARCH"

// maxSearchBody bounds a search answer read into memory.
const maxSearchBody = 8 << 20

// Search looks term up where docker would.
func Search(ctx context.Context, term string, o SearchOptions) ([]SearchResult, error) {
	host, remoteName := splitSearchTerm(term)
	if host == dockerHub {
		return v1Search(ctx, hubBase(), remoteName, o)
	}
	found, err := catalogSearch(ctx, host, remoteName, o)
	if errors.Is(err, errNoCatalog) {
		return v1Search(ctx, schemeFor(host, o.Insecure)+"://"+host, remoteName, o)
	}
	return found, err
}

// splitSearchTerm is docker's splitReposSearchTerm: a first component that
// looks like a host (a '.' or ':', or localhost) names the registry;
// otherwise the term is Hub's, whole.
func splitSearchTerm(term string) (host, rest string) {
	first, after, ok := strings.Cut(term, "/")
	switch {
	case ok && (first == "index.docker.io" || first == dockerHub):
		return dockerHub, after
	case ok && (first == "localhost" || strings.ContainsAny(first, ".:")):
		return first, after
	}
	return dockerHub, term
}

// hubBase is Hub's search server, or the test hook's when it is loopback.
func hubBase() string {
	v := os.Getenv(HubSearchEnv)
	if u, err := url.Parse(v); err == nil && v != "" && insecureAllowed(u.Host, nil) {
		return strings.TrimSuffix(v, "/")
	}
	return hubSearchURL
}

func schemeFor(host string, insecure []string) string {
	if insecureAllowed(host, insecure) {
		return "http"
	}
	return "https"
}

// searchClient is a short-lived client: https but where plain http is allowed.
func searchClient(insecure []string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: httpsOnly{base: remote.DefaultTransport, insecure: insecure}}
}

// v1Search asks base's /v1/search?q=TERM&n=LIMIT, docker's query.
func v1Search(ctx context.Context, base, term string, o SearchOptions) ([]SearchResult, error) {
	u := base + "/v1/search?q=" + url.QueryEscape(term)
	if o.Limit > 0 {
		u += "&n=" + strconv.Itoa(o.Limit)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "skiff")
	resp, err := searchClient(o.Insecure).Do(req)
	if err != nil {
		return nil, err // net/http's `Get "URL": cause`, docker's line too
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSearchBody))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status code %d from %s", resp.StatusCode, u)
	}
	var page struct {
		Results []SearchResult `json:"results"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("search %s: the answer is not Hub's search JSON: %w", u, err)
	}
	if o.Limit > 0 && len(page.Results) > o.Limit {
		page.Results = page.Results[:o.Limit]
	}
	return page.Results, nil
}

// errNoCatalog is a registry without /v2/_catalog (or one that refuses it).
var errNoCatalog = errors.New("registry offers no catalog")

// catalogSearch lists host's repositories whose name contains term, each
// named with the host as pull takes it, its description its tags.
func catalogSearch(ctx context.Context, host, term string, o SearchOptions) ([]SearchResult, error) {
	var opts []name.Option
	if insecureAllowed(host, o.Insecure) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	ropts := remoteOptions(ctx, o.Insecure)
	repos, err := remote.Catalog(ctx, reg, ropts...)
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusNotFound || te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return nil, errNoCatalog
	}
	if err != nil {
		return nil, explain(host, err)
	}
	var found []SearchResult
	for _, r := range repos {
		if !strings.Contains(r, strings.ToLower(term)) {
			continue
		}
		if o.Limit > 0 && len(found) == o.Limit {
			break
		}
		found = append(found, SearchResult{Name: host + "/" + r, Description: tagsOf(ctx, reg.Repo(r), ropts)})
	}
	return found, nil
}

// tagsOf is "tags: a, b" for a repository, empty where the registry lists none.
func tagsOf(ctx context.Context, repo name.Repository, opts []remote.Option) string {
	tags, err := remote.ListWithContext(ctx, repo, opts...)
	if err != nil || len(tags) == 0 {
		return ""
	}
	return "tags: " + strings.Join(tags, ", ")
}
