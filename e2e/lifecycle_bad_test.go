package e2e

import (
	"strings"
	"testing"
)

// TestLifecycleBadInput: every lifecycle command given an unknown name or
// id, an ambiguous id prefix, a name in use, or a container in the wrong
// state fails with one clear line naming the container and docker's exit
// code, and changes nothing.
func TestLifecycleBadInput(t *testing.T) {
	s := shared(t)
	const unknown = "nosuch-e2e-container"
	for _, args := range [][]string{
		{"start", unknown}, {"stop", unknown}, {"restart", unknown}, {"kill", unknown},
		{"rm", unknown}, {"wait", unknown}, {"logs", unknown},
		{"attach", unknown}, {"exec", unknown, "true"}, {"top", unknown}, {"inspect", unknown},
		{"container", "inspect", unknown}, {"stop", "0123456789ab"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := s.skiff(nil, args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1 (docker); %v", r.code, r)
			}
			if !strings.Contains(r.stderr, args[len(args)-1]) && !strings.Contains(r.stderr, unknown) {
				t.Errorf("the error does not name the container: %q", r.stderr)
			}
			if !strings.Contains(strings.ToLower(r.stderr), "no such") {
				t.Errorf("want docker's \"No such container: ...\"; got %q", r.stderr)
			}
			if strings.Contains(r.stderr, "panic:") || strings.Contains(r.stderr, "goroutine ") {
				t.Errorf("panic: %s", r.stderr)
			}
		})
	}
	t.Run("missing argument", func(t *testing.T) {
		for _, verb := range []string{"start", "stop", "kill", "rm", "wait", "logs", "attach", "exec", "top", "inspect", "restart"} {
			if r := s.skiff(nil, verb); r.code == 0 {
				t.Errorf("%s with no container exits 0; %v", verb, r)
			}
		}
	})
	t.Run("name already in use", func(t *testing.T) {
		name := uniqueName(t)
		id := s.create(t, "--name", name, fx.busybox, "true")
		for _, verb := range [][]string{{"create"}, {"run", "-d"}, {"run", "--rm"}} {
			r := s.skiff(nil, append(verb, "--name", name, fx.busybox, "true")...)
			runError(t, r, 125)
			if !strings.Contains(r.stderr, name) || !strings.Contains(r.stderr, "already in use") {
				t.Errorf("%s: want docker's `Conflict. The container name \"/%s\" is already in use by container ...`; %q", verb[0], name, r.stderr)
			}
		}
		r := s.must(t, "ps", "-aq", "--no-trunc", "--filter", "name="+name)
		if strings.TrimSpace(r.stdout) != id {
			t.Errorf("after conflicts, ps lists %q, want only %s", r.stdout, id)
		}
	})
	t.Run("exec into a stopped container", func(t *testing.T) {
		name := uniqueName(t)
		id := s.create(t, "--name", name, fx.busybox, "true")
		r := s.skiff(nil, "exec", name, "true")
		oneLineError(t, r, 1)
		if !strings.Contains(r.stderr, "not running") || !(strings.Contains(r.stderr, name) || strings.Contains(r.stderr, id)) {
			t.Errorf("want docker's \"container <id> is not running\"; %q", r.stderr)
		}
		if st := s.status(name); st != "created" {
			t.Errorf("exec changed a created container to %q", st)
		}
	})
	t.Run("ambiguous id prefix", func(t *testing.T) {
		// Pigeonhole: among 17 ids two share a first hex digit.
		s := newStore(t)
		s.must(t, "pull", fx.busybox)
		byFirst := map[byte][]string{}
		var prefix string
		for i := 0; i < 17 && prefix == ""; i++ {
			id := s.create(t, fx.busybox, "true")
			byFirst[id[0]] = append(byFirst[id[0]], id)
			if len(byFirst[id[0]]) == 2 {
				prefix = id[:1]
			}
		}
		if prefix == "" {
			t.Fatal("17 ids without a shared first digit")
		}
		for _, args := range [][]string{{"rm", prefix}, {"inspect", prefix}, {"start", prefix}} {
			r := s.skiff(nil, args...)
			if r.code != 1 || !strings.Contains(r.stderr, prefix) || !strings.Contains(strings.ToLower(r.stderr), "multiple") {
				t.Errorf("%s: want exit 1 and docker's \"multiple IDs found with provided prefix: %s\"; %v", strings.Join(args, " "), prefix, r)
			}
		}
		for _, id := range byFirst[prefix[0]] {
			if st := s.status(id); st != "created" {
				t.Errorf("an ambiguous prefix changed %s: %q", short(id), st)
			}
			// A unique longer prefix works.
			if r := s.skiff(nil, "inspect", "-f", "{{.Id}}", id[:12]); r.stdout != id+"\n" {
				t.Errorf("inspect by 12-hex prefix: %v", r)
			}
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		id := s.create(t, fx.busybox, "true")
		for _, args := range [][]string{
			{"stop", "-t", "x", id}, {"logs", "--tail", "x", id}, {"logs", "--since", "yesterday", id},
			{"ps", "-n", "x"}, {"run", "-d", "--restart", "sometimes", fx.busybox, "true"},
			{"run", "-d", "--restart", "on-failure:x", fx.busybox, "true"},
		} {
			r := s.skiff(nil, args...)
			if r.code == 0 {
				t.Errorf("%s: exit 0; %v", strings.Join(args, " "), r)
				s.skiff(nil, "rm", "-f", strings.TrimSpace(r.stdout))
			}
		}
		if st := s.status(id); st != "created" {
			t.Errorf("bad flags changed the container: %q", st)
		}
	})
}
