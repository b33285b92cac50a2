package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiff-dev/skiff/build"
)

func TestParseSecret(t *testing.T) {
	for _, tt := range []struct {
		in, id, src, env, err string
	}{
		{in: "id=tok,src=/a/b", id: "tok", src: "/a/b"},
		{in: "id=tok,source=/a/b", id: "tok", src: "/a/b"},
		{in: "src=/a/b", id: "b", src: "/a/b"},
		{in: "id=tok,env=VAR", id: "tok", env: "VAR"},
		{in: "type=env,id=tok,src=VAR", id: "tok", env: "VAR"},
		{in: "id=tok", id: "tok"},
		{in: "id=tok,nosuch=1", err: "unexpected key 'nosuch' in 'nosuch=1'"},
		{in: "id=tok,src", err: "invalid field 'src' must be a key=value pair"},
		{in: "type=ssh,id=tok", err: `unsupported secret type "ssh"`},
		{in: "type=file", err: `invalid secret "type=file": id required`},
	} {
		id, src, env, err := parseSecret(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseSecret(%q) = %v, want error %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || id != tt.id || src != tt.src || env != tt.env {
			t.Errorf("parseSecret(%q) = %q %q %q %v, want %q %q %q", tt.in, id, src, env, err, tt.id, tt.src, tt.env)
		}
	}
}

func TestBuilderPrune(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(build.CacheMountsDir(root), "0123abcd")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := builderPrune(root, &out); err != nil {
		t.Fatal(err)
	}
	if want := "Deleted build cache objects:\n0123abcd\n\nTotal reclaimed space: 5B\n"; out.String() != want {
		t.Errorf("builder prune printed %q, want %q", out.String(), want)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the cache dir is still there: %v", err)
	}
	out.Reset()
	if err := builderPrune(root, &out); err != nil || out.String() != "Total reclaimed space: 0B\n" {
		t.Errorf("a second prune: %v %q", err, out.String())
	}
}
