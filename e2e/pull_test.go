package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPullByTagAndDigest(t *testing.T) {
	requireEnv(t)
	repo := strings.TrimSuffix(fx.busybox, ":latest")
	for _, ref := range []string{fx.busybox, repo, repo + "@" + fx.busyboxDigest} {
		t.Run(ref, func(t *testing.T) {
			s := newStore(t)
			r := s.must(t, "pull", ref)
			if !strings.Contains(r.stdout+r.stderr, fx.busyboxDigest) {
				t.Errorf("pull output does not name the digest %s:\n%v", fx.busyboxDigest, r)
			}
			if got := s.layerDirs(t); len(got) != 1 || got[0] != hexOf(fx.busyboxDiffID) {
				t.Errorf("layers/ = %v, want [%s]", got, hexOf(fx.busyboxDiffID))
			}
			if _, err := os.Stat(filepath.Join(s.root, "layers", hexOf(fx.busyboxDiffID), "diff", "bin", "busybox")); err != nil {
				t.Errorf("extracted layer has no bin/busybox: %v", err)
			}
			if _, err := os.Stat(filepath.Join(s.root, "images", hexOf(fx.busyboxID)+".json")); err != nil {
				t.Errorf("no image record named by the config digest: %v", err)
			}
		})
	}
}

func TestPullWithoutInsecureFlagTrustsLoopback(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	// docker treats 127.0.0.0/8 as insecure by default; so does skiff, or this
	// plain-http registry is unreachable without --insecure-registry.
	s.noInsecureFlag = true
	if r := s.skiff(nil, "pull", fx.busybox); r.code != 0 {
		t.Errorf("pull from 127.0.0.1 without --insecure-registry: %v", r)
	}
}

func TestLayerSharing(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", fx.busybox)
	r := s.must(t, "pull", fx.other)
	if !strings.Contains(r.stdout, "Already exists") {
		t.Errorf("second pull does not say the shared layer %s already exists:\n%v", fx.busyboxDiffID, r)
	}
	if got := s.layerDirs(t); len(got) != 2 {
		t.Errorf("layers/ holds %d dirs %v, want 2 (busybox's shared + other's)", len(got), got)
	}
	again := s.must(t, "pull", fx.other)
	if got := s.layerDirs(t); len(got) != 2 {
		t.Errorf("pulling again made layers/ %v", got)
	}
	if !strings.Contains(again.stdout, "up to date") && !strings.Contains(again.stdout, "Already exists") {
		t.Logf("note: pulling an image already present says %q (docker: \"Image is up to date\")", again.stdout)
	}
}

func TestImagesTagRmiInspect(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", fx.busybox)
	repo := strings.TrimSuffix(fx.busybox, ":latest")
	short := hexOf(fx.busyboxID)[:12]

	t.Run("images", func(t *testing.T) {
		r := s.must(t, "images")
		header := strings.SplitN(r.stdout, "\n", 2)[0]
		if !regexp.MustCompile(`^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE\s*$`).MatchString(header) {
			t.Errorf("header %q, want docker's REPOSITORY TAG IMAGE ID CREATED SIZE", header)
		}
		rows := s.imageRows(t)
		if len(rows) != 1 || rows[0][0] != repo || rows[0][1] != "latest" || rows[0][2] != short {
			t.Errorf("rows %q, want one [%s latest %s ...]", rows, repo, short)
		}
	})
	t.Run("tag", func(t *testing.T) {
		s.must(t, "tag", fx.busybox, "busybox")
		s.must(t, "tag", "busybox", "mine/bb:v1")
		found := map[string]string{}
		for _, row := range s.imageRows(t) {
			found[row[0]+":"+row[1]] = row[2]
		}
		for _, name := range []string{repo + ":latest", "busybox:latest", "mine/bb:v1"} {
			if found[name] != short {
				t.Errorf("images has %s -> %q, want %s; all: %v", name, found[name], short, found)
			}
		}
	})
	t.Run("inspect", func(t *testing.T) {
		r := s.must(t, "image", "inspect", "busybox")
		var out []struct {
			Id          string
			RepoTags    []string
			RepoDigests []string
			Config      struct{ Cmd []string }
			RootFS      struct{ Layers []string }
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("image inspect is not a JSON array: %v\n%s", err, r.stdout)
		}
		if len(out) != 1 {
			t.Fatalf("inspect returned %d objects, want 1", len(out))
		}
		got := out[0]
		if got.Id != fx.busyboxID {
			t.Errorf("Id %q, want %q", got.Id, fx.busyboxID)
		}
		if !contains(got.RepoTags, "busybox:latest") || !contains(got.RepoTags, "mine/bb:v1") {
			t.Errorf("RepoTags %q lack busybox:latest and mine/bb:v1", got.RepoTags)
		}
		if !contains(got.RepoDigests, repo+"@"+fx.busyboxDigest) {
			t.Errorf("RepoDigests %q lack %s@%s", got.RepoDigests, repo, fx.busyboxDigest)
		}
		if len(got.Config.Cmd) != 1 || got.Config.Cmd[0] != "sh" {
			t.Errorf("Config.Cmd %q, want [sh]", got.Config.Cmd)
		}
		if len(got.RootFS.Layers) != 1 || got.RootFS.Layers[0] != fx.busyboxDiffID {
			t.Errorf("RootFS.Layers %q, want [%s]", got.RootFS.Layers, fx.busyboxDiffID)
		}
	})
	t.Run("inspect unknown", func(t *testing.T) {
		oneLineError(t, s.skiff(nil, "image", "inspect", "nosuch"), 1)
	})
	t.Run("rmi", func(t *testing.T) {
		r := s.must(t, "rmi", "mine/bb:v1")
		if !strings.Contains(r.stdout, "Untagged: mine/bb:v1") {
			t.Errorf("rmi of one of several tags: want \"Untagged: mine/bb:v1\", got %v", r)
		}
		s.must(t, "run", "--rm", "busybox", "true") // still there under its other names
		s.must(t, "rmi", "busybox")
		r = s.must(t, "rmi", fx.busybox)
		if !strings.Contains(r.stdout, "Deleted: "+fx.busyboxID) {
			t.Errorf("rmi of the last tag: want \"Deleted: %s\", got %v", fx.busyboxID, r)
		}
		if rows := s.imageRows(t); len(rows) != 0 {
			t.Errorf("images after rmi of every tag: %q", rows)
		}
		if got := s.layerDirs(t); len(got) != 0 {
			t.Errorf("layers/ after the only image is removed: %v (docker deletes unreferenced layers)", got)
		}
		oneLineError(t, s.skiff(nil, "rmi", "busybox"), 1)
	})
}

func TestWhiteoutsInContainer(t *testing.T) {
	s := shared(t)
	s.must(t, "pull", fx.multi)
	for _, c := range []struct{ cmd, want string }{
		{"ls /data", "b\ndir\n"},
		{"ls -a /data/dir", ".\n..\ny\n"},
		{"cat /data/b /data/dir/y", "b\ny\n"},
		{"ls /bin/busybox", "/bin/busybox\n"},
	} {
		t.Run(c.cmd, func(t *testing.T) {
			r := s.skiff(nil, "run", "--rm", fx.multi, "sh", "-c", c.cmd)
			if r.code != 0 || r.stdout != c.want {
				t.Errorf("want %q; %v", c.want, r)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
