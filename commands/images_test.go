package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/store"
)

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 999: "999B", 1000: "1kB", 4261550: "4.26MB", 1982327: "1.98MB", 251e6: "251MB", 1.5e9: "1.5GB",
	} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

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
			for _, r := range imageRows(imgs, f, false, now) {
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
