package commands

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/store"
)

func TestRemoveImage(t *testing.T) {
	const dg = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	tests := []struct {
		name      string
		names     []string
		arg       string
		force     bool
		inUse     string
		want      string // output
		wantExact bool   // want is all the output, not its start
		wantErr   string
		gone      bool
	}{
		{name: "one of two tags untags", names: []string{"docker.io/library/a:1", "docker.io/library/b:1"}, arg: "a:1",
			want: "Untagged: a:1\n"},
		{name: "last tag deletes", names: []string{"docker.io/library/a:1", "docker.io/library/a@" + dg}, arg: "a:1",
			want: "Untagged: a:1\nUntagged: a@" + dg + "\nDeleted: ", gone: true},
		{name: "id of a multiply tagged image needs force", names: []string{"docker.io/library/a:1", "docker.io/library/b:1"}, arg: "ID",
			wantErr: "must be forced"},
		{name: "force by id", names: []string{"docker.io/library/a:1", "docker.io/library/b:1"}, arg: "ID", force: true,
			want: "Untagged: a:1\nUntagged: b:1\nDeleted: ", gone: true},
		{name: "used by a container", names: []string{"docker.io/library/a:1"}, arg: "a:1", inUse: "c0ffee0000000000",
			wantErr: "being used by container c0ffee000000"},
		{name: "used by a container, forced, stays untagged", names: []string{"docker.io/library/a:1", "docker.io/library/a@" + dg}, arg: "a:1",
			inUse: "c0ffee", force: true, want: "Untagged: a:1\nUntagged: a@" + dg + "\n", wantExact: true},
		{name: "used by a container, forced by id", names: []string{"docker.io/library/a:1", "docker.io/library/b:1"}, arg: "ID",
			inUse: "c0ffee", force: true, want: "Untagged: a:1\nUntagged: b:1\n", wantExact: true},
		{name: "used and dangling already", arg: "ID", inUse: "c0ffee0000000000", force: true,
			wantErr: "(cannot be forced) - image is being used by container c0ffee000000"},
		{name: "dangling, unused", arg: "ID", want: "Deleted: ", gone: true},
		{name: "unknown", names: []string{"docker.io/library/a:1"}, arg: "zzz", wantErr: "No such image: zzz:latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			img, err := s.AddImage(store.NewImage{Manifest: []byte(`{}`), Config: []byte(`{"os":"linux"}`), Created: time.Unix(1, 0), Names: tt.names})
			if err != nil {
				t.Fatal(err)
			}
			used := func() (map[string][]string, error) {
				if tt.inUse == "" {
					return nil, nil
				}
				return map[string][]string{img.ID: {tt.inUse}}, nil
			}
			arg := strings.ReplaceAll(tt.arg, "ID", shortid.Of(img.ID))
			var b bytes.Buffer
			err = removeImage(s, arg, tt.force, used, &b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, lerr := s.LookupImage(img.ID); lerr != nil {
					t.Errorf("refused rmi still removed the image: %v", lerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantExact && b.String() != tt.want || !strings.HasPrefix(b.String(), tt.want) {
				t.Errorf("output %q, want prefix %q", b.String(), tt.want)
			}
			_, lerr := s.LookupImage(img.ID)
			if gone := lerr != nil; gone != tt.gone {
				t.Errorf("image gone = %v, want %v", gone, tt.gone)
			}
		})
	}
}
