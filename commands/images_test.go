package commands

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/store"
)

func TestCreatedSince(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		ago  time.Duration
		want string
	}{
		{0, "Less than a second ago"},
		{30 * time.Second, "30 seconds ago"},
		{90 * time.Second, "About a minute ago"},
		{50 * time.Minute, "50 minutes ago"},
		{time.Hour, "About an hour ago"},
		{5 * time.Hour, "5 hours ago"},
		{3 * 24 * time.Hour, "3 days ago"},
		{15 * 24 * time.Hour, "2 weeks ago"},
		{90 * 24 * time.Hour, "3 months ago"},
		{3 * 365 * 24 * time.Hour, "3 years ago"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := createdSince(now.Add(-tt.ago), now); got != tt.want {
				t.Errorf("createdSince(-%v) = %q, want %q", tt.ago, got, tt.want)
			}
		})
	}
	if got := createdSince(time.Time{}, now); got != "N/A" {
		t.Errorf("zero time: %q", got)
	}
}

func TestImageRows(t *testing.T) {
	const dg = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	now := time.Now()
	imgs := []*store.Image{
		{ID: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Size: 4261550, Created: now.Add(-15 * 24 * time.Hour),
			RepoTags:    []string{"docker.io/library/busybox:latest", "localhost:5000/busybox:1"},
			RepoDigests: []string{"docker.io/library/busybox@" + dg}},
		{ID: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", Size: 1000, Created: now,
			RepoDigests: []string{"docker.io/library/alpine@" + dg}},
		{ID: "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", Created: now},
	}
	tests := []struct {
		filter string
		want   []string // Repository:Tag:Digest
	}{
		{"", []string{"busybox:latest:" + dg, "localhost:5000/busybox:1:<none>", "alpine:<none>:" + dg, "<none>:<none>:<none>"}},
		{"busybox", []string{"busybox:latest:" + dg}},
		{"busybox:latest", []string{"busybox:latest:" + dg}},
		{"busybox:other", nil},
		{"localhost:5000/busybox", []string{"localhost:5000/busybox:1:<none>"}},
		{"alpine", []string{"alpine:<none>:" + dg}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			f, err := newRepoFilter(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range imageRows(imgs, imageFilter{repo: f}, false, now) {
				got = append(got, r.Repository+":"+r.Tag+":"+r.Digest)
				if len(r.ID) != 12 {
					t.Errorf("ID %q is not 12 hex", r.ID)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("rows\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestPrintRowsTable(t *testing.T) {
	var b bytes.Buffer
	rows := []imageRow{{Repository: "busybox", Tag: "latest", ID: "aaaaaaaaaaaa", CreatedSince: "2 weeks ago", Size: "4.26MB"}}
	if err := printRows(&b, `table {{.Repository}}\t{{.Size}}`, imageHeader, rows); err != nil {
		t.Fatal(err)
	}
	want := "REPOSITORY   SIZE\nbusybox      4.26MB\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := printRows(&b, `{{.ID}}`, imageHeader, rows); err != nil || b.String() != "aaaaaaaaaaaa\n" {
		t.Errorf("plain format: %q, %v", b.String(), err)
	}
}

// TestImageFilters: docker's images --filter semantics on tagged, digest-only
// and dangling images.
func TestImageFilters(t *testing.T) {
	const dg = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	now := time.Now()
	img := func(id string, age time.Duration, labels map[string]string, names ...string) *store.Image {
		i := &store.Image{ID: "sha256:" + strings.Repeat(id, 64), Created: now.Add(-age)}
		i.Config.Config.Labels = labels
		for _, n := range names {
			if strings.Contains(n, "@") {
				i.RepoDigests = append(i.RepoDigests, n)
			} else {
				i.RepoTags = append(i.RepoTags, n)
			}
		}
		return i
	}
	imgs := []*store.Image{ // newest first, as store.Images
		img("a", 1*time.Hour, map[string]string{"tier": "web", "team": "x"},
			"docker.io/library/busybox:latest", "docker.io/library/busybox@"+dg, "localhost:5000/tools/bb:v1"),
		img("b", 2*time.Hour, nil, "docker.io/library/alpine@"+dg),
		img("c", 3*time.Hour, map[string]string{"tier": "db"}),
		img("d", 4*time.Hour, nil, "docker.io/library/debian:12"),
	}
	tests := []struct {
		name   string
		filter imageFilter
		want   []string // Repository:Tag
	}{
		{"none", imageFilter{}, []string{"busybox:latest", "localhost:5000/tools/bb:v1", "alpine:<none>", "<none>:<none>", "debian:12"}},
		{"dangling=true", imageFilter{danglingOnly: true}, []string{"alpine:<none>", "<none>:<none>"}},
		{"dangling=false", imageFilter{noDangling: true}, []string{"busybox:latest", "localhost:5000/tools/bb:v1", "alpine:<none>", "debian:12"}},
		{"reference on the familiar name", imageFilter{refs: []string{"busybox"}}, []string{"busybox:latest"}},
		{"reference glob with a tag", imageFilter{refs: []string{"*:1?"}}, []string{"debian:12"}},
		{"reference glob over a path", imageFilter{refs: []string{"localhost:5000/*/*"}}, []string{"localhost:5000/tools/bb:v1"}},
		{"references are alternatives", imageFilter{refs: []string{"debian", "alpine"}}, []string{"alpine:<none>", "debian:12"}},
		{"reference and dangling", imageFilter{refs: []string{"alpine"}, danglingOnly: true}, []string{"alpine:<none>"}},
		{"no match", imageFilter{refs: []string{"nothing*"}}, nil},
		{"label key", imageFilter{labels: []string{"tier"}}, []string{"busybox:latest", "localhost:5000/tools/bb:v1", "<none>:<none>"}},
		{"label key=value", imageFilter{labels: []string{"tier=db"}}, []string{"<none>:<none>"}},
		{"labels all match", imageFilter{labels: []string{"tier", "team=x"}}, []string{"busybox:latest", "localhost:5000/tools/bb:v1"}},
		{"labels all match, none", imageFilter{labels: []string{"tier=db", "team=x"}}, nil},
		{"before", imageFilter{before: imgs[1]}, []string{"<none>:<none>", "debian:12"}},
		{"since", imageFilter{since: imgs[2]}, []string{"busybox:latest", "localhost:5000/tools/bb:v1", "alpine:<none>"}},
		{"since and before", imageFilter{since: imgs[3], before: imgs[1]}, []string{"<none>:<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, r := range imageRows(imgs, tt.filter, false, now) {
				got = append(got, r.Repository+":"+r.Tag)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("rows\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestParseImageFilters(t *testing.T) {
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.AddImage(store.NewImage{Manifest: []byte(`{}`), Config: []byte(`{"os":"linux"}`), Created: time.Unix(1, 0), Names: []string{"docker.io/library/base:1"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		vals     []string
		wantErr  string
		wantCode int
	}{
		{vals: []string{"dangling=true", "Label=a", " reference = x* "}},
		{vals: []string{"dangling=1"}},
		{vals: []string{"before=base:1", "since=" + shortid.Of(base.ID)}},
		{vals: []string{"bogus=1"}, wantErr: "invalid filter 'bogus'", wantCode: 1},
		{vals: []string{"dangling"}, wantErr: `invalid argument "dangling" for "-f, --filter" flag: bad format of filter (expected name=value)`, wantCode: 125},
		{vals: []string{"dangling=maybe"}, wantErr: "invalid filter 'dangling=maybe'", wantCode: 1},
		{vals: []string{"dangling=true", "dangling=false"}, wantErr: "invalid filter 'dangling=true,false'", wantCode: 1},
		{vals: []string{"reference=[x"}, wantErr: "syntax error in pattern", wantCode: 1},
		{vals: []string{"before=nosuch"}, wantErr: "nosuch", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.vals, ","), func(t *testing.T) {
			_, err := parseImageFilters(s, "", tt.vals)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v (%+v), want exit %d with %q", err, ee, tt.wantCode, tt.wantErr)
			}
		})
	}
	f, err := parseImageFilters(s, "", []string{"dangling=true", "Label=a", " reference = x* ", "before=base:1"})
	if err != nil || !f.danglingOnly || len(f.labels) != 1 || f.refs[0] != "x*" || f.before.ID != base.ID {
		t.Errorf("parsed %+v, %v", f, err)
	}
}

// TestImageRowJSON: --format json is docker's: sorted keys, < and >
// escaped, N/A for what `images` does not compute.
func TestImageRowJSON(t *testing.T) {
	now := time.Now()
	imgs := []*store.Image{{ID: "sha256:" + strings.Repeat("a", 64), Size: 4261550, Created: now}}
	rows := imageRows(imgs, imageFilter{}, false, now)
	var b bytes.Buffer
	if err := printRows(&b, "{{json .}}", imageHeader, rows); err != nil {
		t.Fatal(err)
	}
	want := `{"Containers":"N/A","CreatedAt":"` + rows[0].CreatedAt + `","CreatedSince":"Less than a second ago",` +
		`"Digest":"\u003cnone\u003e","ID":"aaaaaaaaaaaa","Repository":"\u003cnone\u003e","SharedSize":"N/A","Size":"4.26MB",` +
		`"Tag":"\u003cnone\u003e","UniqueSize":"N/A","VirtualSize":"4.262MB"}` + "\n"
	if b.String() != want {
		t.Errorf("json\n got %s\nwant %s", b.String(), want)
	}
}
