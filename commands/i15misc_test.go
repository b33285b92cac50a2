package commands

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/registry"
	"github.com/skiff-dev/skiff/store"
)

func TestHistoryRow(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	long := "/bin/sh -c #(nop) \tADD file:0123456789abcdef0123456789abcdef in / "
	h := historyItem{ID: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		Created: now.Add(-3 * 24 * time.Hour), CreatedBy: long, Size: 1234567, Comment: "c"}
	r := historyOptions{human: true, now: now}.row(h)
	if r.ID != "0123456789ab" || r.CreatedSince != "3 days ago" || r.Size != "1.23MB" || r.Comment != "c" {
		t.Errorf("human row: %+v", r)
	}
	if n := len([]rune(r.CreatedBy)); n != 45 || !strings.HasSuffix(r.CreatedBy, "…") || strings.Contains(r.CreatedBy, "\t") {
		t.Errorf("CreatedBy %q: want one line cut to 45 characters", r.CreatedBy)
	}
	r = historyOptions{human: false, noTrunc: true, now: now}.row(h)
	if r.ID != h.ID || r.Size != "1234567" || r.CreatedSince != r.CreatedAt || r.CreatedBy != strings.ReplaceAll(long, "\t", " ") {
		t.Errorf("-H=false --no-trunc row: %+v", r)
	}
	if _, err := time.Parse(time.RFC3339, r.CreatedAt); err != nil {
		t.Errorf("CreatedAt %q is not RFC 3339", r.CreatedAt)
	}
	if r := (historyOptions{human: true, now: now}).row(historyItem{ID: "<missing>"}); r.ID != "<missing>" {
		t.Errorf("missing row: %+v", r)
	}
}

// TestImageHistoryAlignsLayers: empty-layer steps have size 0, a history
// covering fewer layers than the image has describes the top ones, and
// only the image itself has an id when no build recorded parents.
func TestImageHistoryAlignsLayers(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	img := &store.Image{ID: "sha256:" + strings.Repeat("a", 64),
		Layers: []string{"sha256:" + strings.Repeat("1", 64), "sha256:" + strings.Repeat("2", 64)},
		Config: v1.ConfigFile{History: []v1.History{{CreatedBy: "top layer"}, {CreatedBy: "env", EmptyLayer: true}}}}
	items, err := imageHistory(s, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].CreatedBy != "env" || items[0].ID != img.ID || items[1].CreatedBy != "top layer" || items[1].ID != "<missing>" {
		t.Errorf("items: %+v", items)
	}
	img.Layers = img.Layers[:0]
	if _, err := imageHistory(s, img); err == nil {
		t.Error("a history naming more layers than the image has: want an error")
	}
}

func TestSearchFilters(t *testing.T) {
	official := registry.SearchResult{Name: "busybox", StarCount: 10, IsOfficial: true}
	auto := registry.SearchResult{Name: "a/b", StarCount: 2, IsAutomated: true}
	for _, tt := range []struct {
		filters        []string
		official, auto bool
		wantErr        string
	}{
		{filters: nil, official: true, auto: true},
		{filters: []string{"stars=3"}, official: true},
		{filters: []string{"is-official=true"}, official: true},
		{filters: []string{"is-official=false"}, auto: true},
		{filters: []string{"is-automated=1", "stars=1"}, auto: true},
		{filters: []string{"stars=x"}, wantErr: "invalid filter 'stars=x'"},
		{filters: []string{"is-official=maybe"}, wantErr: "invalid filter 'is-official=maybe'"},
		{filters: []string{"color=red"}, wantErr: "invalid filter 'color'"},
		{filters: []string{"stars"}, wantErr: "bad format of filter"},
	} {
		f, err := parseSearchFilters(tt.filters)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: error %v, want %q", tt.filters, err, tt.wantErr)
			}
			continue
		}
		if err != nil || f.keeps(official) != tt.official || f.keeps(auto) != tt.auto {
			t.Errorf("%v: keeps official %v, automated %v (err %v)", tt.filters, f.keeps(official), f.keeps(auto), err)
		}
	}
	r := searchRowOf(registry.SearchResult{Name: "n", Description: "line one\nline two", StarCount: 7, IsOfficial: true}, false)
	if r.Description != "line one line two" || r.StarCount != "7" || r.IsOfficial != "[OK]" || r.IsAutomated != "" {
		t.Errorf("row: %+v", r)
	}
}

func TestImagePruneFilters(t *testing.T) {
	now := time.Now()
	all, f, err := parseImagePruneFilters(false, []string{"dangling=false", "label=a=b", "until=1h"}, now)
	if err != nil || !all || !f.hasUntil || len(f.labels) != 1 {
		t.Errorf("dangling=false is -a, label and until kept: %v %+v %v", all, f, err)
	}
	if !f.matches(now.Add(-2*time.Hour), map[string]string{"a": "b"}) || f.matches(now, map[string]string{"a": "b"}) || f.matches(now.Add(-2*time.Hour), nil) {
		t.Error("until= and label= on an image's creation time and labels")
	}
	if _, _, err := parseImagePruneFilters(false, []string{"dangling=perhaps"}, now); err == nil || err.Error() != "invalid filter 'dangling=perhaps'" {
		t.Errorf("dangling=perhaps: %v", err)
	}
	if _, _, err := parseImagePruneFilters(false, []string{"reference=x"}, now); err == nil || err.Error() != "invalid filter 'reference'" {
		t.Errorf("reference=: %v", err)
	}
}

func TestSystemPruneQuestion(t *testing.T) {
	got := systemPruneQuestion(true, true, []string{"label=a"})
	want := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n" +
		"  - all anonymous volumes not used by at least one container\n  - all images without at least one container associated to them\n" +
		"  - all build cache\n\n  Items to be pruned will be filtered with:\n  - label=a\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestReclaimable(t *testing.T) {
	for _, tt := range []struct {
		free, total int64
		want        string
	}{{0, 0, "0B"}, {500, 1000, "500B (50%)"}, {1000000, 1000000, "1MB (100%)"}, {0, 1000, "0B (0%)"}} {
		if got := reclaimable(tt.free, tt.total); got != tt.want {
			t.Errorf("reclaimable(%d, %d) = %q, want %q", tt.free, tt.total, got, tt.want)
		}
	}
}

func TestOperandKind(t *testing.T) {
	for _, tt := range []struct {
		usage, kind string
		all         bool
	}{
		{"CONTAINER [CONTAINER...]", "container", true},
		{"CONTAINER COMMAND [ARG...]", "container", false},
		{"IMAGE [COMMAND] [ARG...]", "image", false},
		{"IMAGE [IMAGE...]", "image", true},
		{"SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]", "image", false},
		{"NAME|ID [NAME|ID...]", "any", true},
		{"[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-", "container", false},
		{"VOLUME [VOLUME...]", "volume", true},
		{"PATH | -", "", false},
	} {
		if kind, all := operandKind(tt.usage); kind != tt.kind || all != tt.all {
			t.Errorf("operandKind(%q) = %q, %v; want %q, %v", tt.usage, kind, all, tt.kind, tt.all)
		}
	}
}

// TestCompletionSpecs: every verb and group of the CLI is in the script's
// data, with its flags and aliases.
func TestCompletionSpecs(t *testing.T) {
	specs := completionSpecs(NewApp())
	byPath := map[string]cmdSpec{}
	for _, s := range specs {
		byPath[s.path] = s
	}
	for _, verb := range []string{"run", "ps", "history", "search", "completion", "system", "image"} {
		if !strings.Contains(" "+strings.Join(byPath[""].subs, " ")+" ", " "+verb+" ") {
			t.Errorf("verb %s missing from the root's %v", verb, byPath[""].subs)
		}
	}
	prune, ok := byPath["image prune"]
	if !ok || !strings.Contains(strings.Join(prune.flags, " "), "--all") || !strings.Contains(strings.Join(prune.flags, " "), "-f") {
		t.Errorf("image prune: %+v", prune)
	}
	if ls, ok := byPath["container list"]; !ok || ls.kind != "" {
		t.Errorf("an alias of container ls: %+v", ls)
	}
	if run := byPath["run"]; run.kind != "image" || !strings.Contains(" "+strings.Join(run.valueFlags, " ")+" ", " -e ") {
		t.Errorf("run: kind %q, value flags %v", run.kind, run.valueFlags)
	}
}
