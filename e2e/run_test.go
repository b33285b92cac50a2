package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestRunFlags drives docker's run flags one at a time, as a script would.
func TestRunFlags(t *testing.T) {
	s := shared(t)
	bb := fx.busybox
	envFile := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(envFile, []byte("# a comment\n\nF1=one\nF2=two words\nFROMHOST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		env   []string // the caller's environment
		want  string   // stdout exactly
		code  int
	}{
		{"echo", []string{bb, "echo", "hi"}, "", nil, "hi\n", 0},
		{"default cmd is sh reading stdin", []string{"-i", bb}, "echo from-sh\n", nil, "from-sh\n", 0},
		{"-i pipes stdin", []string{"-i", bb, "cat"}, "piped\nlines\n", nil, "piped\nlines\n", 0},
		{"no -i: no stdin", []string{bb, "cat"}, "not for you\n", nil, "", 0},
		{"--interactive", []string{"--interactive", bb, "cat"}, "long\n", nil, "long\n", 0},
		{"-e VAR=x", []string{"-e", "VAR=x", bb, "sh", "-c", "echo $VAR"}, "", nil, "x\n", 0},
		{"--env VAR=x", []string{"--env", "VAR=x", bb, "sh", "-c", "echo $VAR"}, "", nil, "x\n", 0},
		{"-e VAR from caller", []string{"-e", "VAR", bb, "sh", "-c", "echo $VAR"}, "", []string{"VAR=fromhost"}, "fromhost\n", 0},
		{"-e VAR unset in caller", []string{"-e", "NOPE_UNSET", bb, "sh", "-c", "echo ${NOPE_UNSET-unset}"}, "", nil, "unset\n", 0},
		{"-e A=1,2 is one value", []string{"-e", "A=1,2", bb, "sh", "-c", "echo $A"}, "", nil, "1,2\n", 0},
		{"-e twice", []string{"-e", "A=1", "-e", "B=2", bb, "sh", "-c", "echo $A$B"}, "", nil, "12\n", 0},
		{"-e overrides image env", []string{"-e", "PATH=/bin", bb, "sh", "-c", "echo $PATH"}, "", nil, "/bin\n", 0},
		{"image env", []string{bb, "sh", "-c", "echo $PATH"}, "", nil, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n", 0},
		{"HOME set", []string{bb, "sh", "-c", "echo $HOME"}, "", nil, "/root\n", 0},
		{"--env-file", []string{"--env-file", envFile, bb, "sh", "-c", "echo \"$F1|$F2|$FROMHOST\""}, "", []string{"FROMHOST=h"}, "one|two words|h\n", 0},
		{"-w", []string{"-w", "/tmp", bb, "pwd"}, "", nil, "/tmp\n", 0},
		{"--workdir made if missing", []string{"--workdir", "/new/dir", bb, "pwd"}, "", nil, "/new/dir\n", 0},
		{"default workdir /", []string{bb, "pwd"}, "", nil, "/\n", 0},
		{"-u 1000", []string{"-u", "1000", bb, "id"}, "", nil, "uid=1000(app) gid=1000(app) groups=1000(app)\n", 0},
		{"-u app", []string{"-u", "app", bb, "id"}, "", nil, "uid=1000(app) gid=1000(app) groups=1000(app)\n", 0},
		{"-u 1000:1000", []string{"-u", "1000:1000", bb, "id"}, "", nil, "uid=1000(app) gid=1000(app) groups=1000(app)\n", 0},
		{"--user app:root", []string{"--user", "app:root", bb, "id", "-g"}, "", nil, "0\n", 0},
		{"-u unknown uid", []string{"-u", "4321", bb, "id", "-u"}, "", nil, "4321\n", 0},
		{"-u app sets HOME", []string{"-u", "app", bb, "sh", "-c", "echo $HOME"}, "", nil, "/home/app\n", 0},
		{"-u nosuchuser", []string{"-u", "nosuchuser", bb, "id"}, "", nil, "", 125},
		{"default user root", []string{bb, "id"}, "", nil, "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n", -1},
		{"--entrypoint", []string{"--entrypoint", "echo", bb, "hello", "world"}, "", nil, "hello world\n", 0},
		{"--entrypoint no args", []string{"--entrypoint", "pwd", bb}, "", nil, "/\n", 0},
		{"-h", []string{"-h", "myhost", bb, "hostname"}, "", nil, "myhost\n", 0},
		{"--hostname", []string{"--hostname", "other", bb, "cat", "/proc/sys/kernel/hostname"}, "", nil, "other\n", 0},
		{"args after IMAGE are the command's", []string{bb, "ls", "-l", "/bin/busybox"}, "", nil, "", 0},
		{"flags after IMAGE are not skiff's", []string{bb, "echo", "--rm", "-e", "X", "-it"}, "", nil, "--rm -e X -it\n", 0},
		{"-- before IMAGE", []string{"--rm", "--", bb, "echo", "x"}, "", nil, "x\n", 0},
		{"-i combined -ie", []string{"-ie", "X=combined", bb, "sh", "-c", "echo $X"}, "", nil, "combined\n", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"run", "--rm"}, c.args...)
			r := s.skiffEnv(strings.NewReader(c.stdin), c.env, args...)
			if c.code == -1 { // output varies by busybox build: check the start
				if r.code != 0 || !strings.HasPrefix(r.stdout, "uid=0(root) gid=0(root)") {
					t.Errorf("want uid=0(root) gid=0(root)...; %v", r)
				}
				return
			}
			if r.code != c.code {
				t.Errorf("exit %d, want %d; %v", r.code, c.code, r)
			}
			if c.name == "args after IMAGE are the command's" {
				if !strings.Contains(r.stdout, "-rwx") || !strings.Contains(r.stdout, "/bin/busybox") {
					t.Errorf("ls -l output not long format: %v", r)
				}
				return
			}
			if c.code == 0 && r.stdout != c.want {
				t.Errorf("stdout %q, want %q; %v", r.stdout, c.want, r)
			}
			if c.code == 125 {
				runError(t, r, 125)
			}
		})
	}
}

func TestRunExitCodes(t *testing.T) {
	s := shared(t)
	for _, c := range []struct {
		name string
		args []string
		code int
		err  bool // a one-line error from skiff is expected
	}{
		{"true", []string{fx.busybox, "true"}, 0, false},
		{"false", []string{fx.busybox, "false"}, 1, false},
		{"exit 3", []string{fx.busybox, "sh", "-c", "exit 3"}, 3, false},
		{"unknown image", []string{"--pull=never", "nosuchimage-e2e", "true"}, 125, true}, // never a lookup of docker.io
		{"unknown image in registry", []string{reg.Addr + "/library/nosuch", "true"}, 125, true},
		{"bad flag", []string{"--no-such-flag", fx.busybox, "true"}, 125, true},
		{"unsupported docker flag", []string{"--cpu-count", "1", fx.busybox, "true"}, 125, true}, // --cpus is real since issue 16
		{"no image", []string{}, 125, true},
		{"not executable", []string{fx.busybox, "/etc"}, 126, true},
		{"not found", []string{fx.busybox, "nosuchcmd"}, 127, true},
		{"not found, absolute", []string{fx.busybox, "/no/such/cmd"}, 127, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.skiff(nil, append([]string{"run", "--rm"}, c.args...)...)
			if c.err {
				runError(t, r, c.code)
				return
			}
			if r.code != c.code {
				t.Errorf("exit %d, want %d; %v", r.code, c.code, r)
			}
			if r.stderr != "" {
				t.Errorf("skiff printed %q for the container's own exit status", r.stderr)
			}
		})
	}
	t.Run("unsupported flag says so", func(t *testing.T) {
		r := s.skiff(nil, "run", "--cpu-count", "1", fx.busybox, "true")
		if !strings.Contains(r.stderr, "not supported") || !strings.Contains(r.stderr, "cpu-count") {
			t.Errorf("want a \"--cpu-count ... not supported yet\" message; %v", r)
		}
	})
}

// TestContainerLifecycle: --rm, --name, ps -a, rm, as docker.
func TestContainerLifecycle(t *testing.T) {
	s := shared(t)
	if r := s.skiff(nil, "run", "--name", "e2e-keep", fx.busybox, "sh", "-c", "exit 4"); r.code != 4 {
		t.Fatalf("want exit 4; %v", r)
	}
	ps := s.must(t, "ps", "-a")
	header := strings.SplitN(ps.stdout, "\n", 2)[0]
	if !regexp.MustCompile(`^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES\s*$`).MatchString(header) {
		t.Errorf("ps header %q, want docker's CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES", header)
	}
	line := lineWith(ps.stdout, "e2e-keep")
	if line == "" {
		t.Fatalf("ps -a does not list e2e-keep:\n%s", ps.stdout)
	}
	if !strings.Contains(line, "Exited (4)") {
		t.Errorf("ps -a line %q lacks \"Exited (4)\"", line)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}\s`).MatchString(line) {
		t.Errorf("ps -a line %q does not start with a 12-hex container id", line)
	}
	if lineWith(s.must(t, "ps").stdout, "e2e-keep") != "" {
		t.Errorf("plain ps lists an exited container")
	}

	runError(t, s.skiff(nil, "run", "--name", "e2e-keep", fx.busybox, "true"), 125)

	s.must(t, "rm", "e2e-keep")
	if lineWith(s.must(t, "ps", "-a").stdout, "e2e-keep") != "" {
		t.Errorf("e2e-keep still listed after rm")
	}
	oneLineError(t, s.skiff(nil, "rm", "e2e-keep"), 1)
	s.must(t, "run", "--name", "e2e-keep", "--rm", fx.busybox, "true") // the name is free again

	t.Run("--rm leaves nothing", func(t *testing.T) {
		s.must(t, "run", "--rm", "--name", "e2e-gone", fx.busybox, "true")
		if l := lineWith(s.must(t, "ps", "-a").stdout, "e2e-gone"); l != "" {
			t.Errorf("--rm container still listed: %q", l)
		}
		r := s.skiff(nil, "run", "--rm", "--name", "e2e-gone2", fx.busybox, "sh", "-c", "exit 7")
		if r.code != 7 {
			t.Errorf("exit %d, want 7", r.code)
		}
		if l := lineWith(s.must(t, "ps", "-a").stdout, "e2e-gone2"); l != "" {
			t.Errorf("--rm container that failed still listed: %q", l)
		}
	})
	t.Run("no cgroup or record left", func(t *testing.T) {
		before := containerDirs(t, s)
		s.must(t, "run", "--name", "e2e-cg", fx.busybox, "true")
		id := strings.Fields(lineWith(s.must(t, "ps", "-a", "--no-trunc").stdout, "e2e-cg"))[0]
		if len(id) != 64 {
			t.Fatalf("ps -a --no-trunc id %q, want 64 hex", id)
		}
		left, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/" + id)
		left2, _ := filepath.Glob("/sys/fs/cgroup/skiff/" + id)
		if left = append(left, left2...); len(left) != 0 {
			t.Errorf("cgroups of an exited container remain: %v", left)
		}
		s.must(t, "rm", "e2e-cg")
		s.must(t, "run", "--rm", fx.busybox, "true")
		if after := containerDirs(t, s); after != before {
			t.Errorf("containers/ held %d dirs before, %d after a run --rm and a run + rm", before, after)
		}
	})
	t.Run("rm by id", func(t *testing.T) {
		s.must(t, "run", "--name", "e2e-byid", fx.busybox, "true")
		id := strings.Fields(lineWith(s.must(t, "ps", "-a").stdout, "e2e-byid"))[0]
		s.must(t, "rm", id)
		if l := lineWith(s.must(t, "ps", "-a").stdout, "e2e-byid"); l != "" {
			t.Errorf("still listed after rm %s: %q", id, l)
		}
	})
}

func containerDirs(t *testing.T, s *store) int {
	ents, err := os.ReadDir(filepath.Join(s.root, "containers"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(ents)
}

func lineWith(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[len(f)-1] == name {
			return l
		}
	}
	return ""
}
