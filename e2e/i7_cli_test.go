package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 7: docker's command line as scripts see it. Unknown commands and
// flags, help, flags after arguments and the one error style.

// TestI7CliUnknownCommand: docker's two lines, exit 1, for a top-level
// command and one inside a group.
func TestI7CliUnknownCommand(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	for _, tt := range []struct {
		args []string
		name string
	}{
		{[]string{"foo"}, "foo"},
		{[]string{"foo", "--bar", "x"}, "foo"},
		{[]string{"container", "foo"}, "container foo"},
		{[]string{"image", "bogus", "x"}, "image bogus"},
	} {
		r := st.skiff(nil, tt.args...)
		want := "skiff: '" + tt.name + "' is not a skiff command.\nSee 'skiff --help'\n"
		if r.code != 1 || r.stderr != want || r.stdout != "" {
			t.Errorf("skiff %s: %v; want exit 1 and stderr %q", strings.Join(tt.args, " "), r, want)
		}
	}
}

// TestI7CliHelp: `help VERB`, `VERB --help` (top's too, whose arguments are
// ps's) show that verb's help, exit 0; the main help lists only what exists.
func TestI7CliHelp(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	for _, args := range [][]string{
		{"help", "ps"}, {"ps", "--help"}, {"top", "--help"}, {"help", "top"},
		{"help", "container", "ls"}, {"container", "help", "ls"}, {"run", "--help"}, {"help", "run"},
	} {
		r := st.skiff(nil, args...)
		verb := args[len(args)-1]
		if verb == "--help" {
			verb = args[0]
		}
		if r.code != 0 || !strings.Contains(r.stdout, "skiff "+verb+" - ") && !strings.Contains(r.stdout, " "+verb+" - ") {
			t.Errorf("skiff %s: %v; want %s's help", strings.Join(args, " "), r, verb)
		}
	}
	r := st.must(t, "--help")
	if !strings.Contains(r.stdout, "\n   build ") {
		t.Errorf("the help does not list build (issue 12):\n%s", r.stdout)
	}
	for _, verb := range []string{"push", "login", "logout", "save", "load", "history", "search"} { // issue 15
		if !strings.Contains(r.stdout, "\n   "+verb+" ") {
			t.Errorf("the help does not list %s:\n%s", verb, r.stdout)
		}
	}
	for _, verb := range []string{"run", "exec", "rm", "ps"} {
		if r := st.must(t, verb, "--help"); strings.Contains(r.stdout, "not supported") {
			t.Errorf("%s --help lists what is not supported:\n%s", verb, r.stdout)
		}
	}
}

// TestI7CliFlagErrors: a flag error on any verb is docker's line and a
// pointer to the verb's help, exit 125, never the whole help text.
func TestI7CliFlagErrors(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	tests := []struct {
		args []string
		msg  string
		help string
	}{
		{[]string{"ps", "--bogus"}, "unknown flag: --bogus", "ps"},
		{[]string{"ps", "-a", "-z"}, "unknown shorthand flag: 'z' in -z", "ps"},
		{[]string{"container", "ls", "--bogus"}, "unknown flag: --bogus", "container ls"},
		{[]string{"images", "x", "--bogus"}, "unknown flag: --bogus", "images"},
		{[]string{"rmi", "-x", "busybox"}, "unknown shorthand flag: 'x' in -x", "rmi"},
		{[]string{"logs", "c", "--tail"}, "flag needs an argument: --tail", "logs"},
		{[]string{"ps", "-n", "x"}, `invalid argument "x" for "-n" flag`, "ps"},
		{[]string{"run", "--bogus", "busybox"}, "unknown flag: --bogus", "run"},
		{[]string{"exec", "--bogus", "c", "true"}, "unknown flag: --bogus", "exec"},
		{[]string{"stop", "c", "--bogus"}, "unknown flag: --bogus", "stop"},
		{[]string{"top", "c"}, "", ""}, // ps options are ps's: checked below
		{[]string{"--bogus", "ps"}, "unknown flag: --bogus", ""},
	}
	for _, tt := range tests {
		if tt.msg == "" {
			continue
		}
		r := st.skiff(nil, tt.args...)
		help := "skiff --help"
		if tt.help != "" {
			help = "skiff " + tt.help + " --help"
		}
		if r.code != 125 || !strings.HasPrefix(r.stderr, "skiff: "+tt.msg) || !strings.HasSuffix(r.stderr, "\nSee '"+help+"'.\n") ||
			strings.Count(r.stderr, "\n") != 2 || r.stdout != "" {
			t.Errorf("skiff %s: %v\nwant exit 125, %q and See '%s'.", strings.Join(tt.args, " "), r, tt.msg, help)
		}
	}
	// run still names a docker flag skiff lacks as such, in one line.
	if r := st.skiff(nil, "run", "-ita", "stdout", "busybox"); r.code != 125 || r.stderr != "skiff: run: --attach is not supported yet\n" {
		t.Errorf("run -ita: %v", r)
	}
}

// TestI7CliFlagsAfterArguments: docker's parsing takes a verb's flags after
// its arguments; `--` ends them, and everything after run's IMAGE stays
// the container's command.
func TestI7CliFlagsAfterArguments(t *testing.T) {
	st := shared(t)
	name := uniqueName(t)
	tag := "i7cli-" + name
	st.must(t, "tag", fx.busybox, tag)
	id := st.must(t, "image", "inspect", tag, "-f", "{{.Id}}").stdout
	if !strings.HasPrefix(id, "sha256:") {
		t.Fatalf("image inspect IMG -f: %q", id)
	}
	if r := st.must(t, "images", tag, "-q", "--no-trunc"); r.stdout != id {
		t.Errorf("images REPO -q --no-trunc: %q, want %q", r.stdout, id)
	}
	if r := st.must(t, "pull", fx.busybox, "-q"); !strings.Contains(fx.busybox, strings.TrimSpace(r.stdout)) || r.stdout == "" {
		t.Errorf("pull IMG -q: want only the name, got %q", r.stdout)
	}

	// run: flags after IMAGE are the command's.
	if r := st.must(t, "run", "--rm", tag, "echo", "-n", "--rm", "-f"); r.stdout != "--rm -f" {
		t.Errorf("run IMG echo -n --rm -f: %q", r.stdout)
	}
	st.must(t, "run", "--name", name, tag, "sh", "-c", "echo hi; echo hi > /f")
	st.cleanup(t, name)
	if r := st.must(t, "logs", name, "-t"); !strings.Contains(r.stdout, "Z ") {
		t.Errorf("logs C -t: %q", r.stdout)
	}
	committed := tag + "-commit"
	st.must(t, "commit", name, committed, "-m", "i7 message")
	if r := st.must(t, "image", "inspect", committed, "--format", "{{.Comment}}"); strings.TrimSpace(r.stdout) != "i7 message" {
		t.Errorf("commit C R -m: Comment %q", r.stdout)
	}
	out := filepath.Join(t.TempDir(), "c.tar")
	st.must(t, "export", name, "-o", out)
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		t.Errorf("export C -o f: %v", err)
	}
	st.must(t, "rmi", committed, "-f")
	// rmi TAG -f: untags a name the image has besides others.
	if r := st.must(t, "rmi", tag, "-f"); !strings.Contains(r.stdout, "Untagged: "+tag+":latest") {
		t.Errorf("rmi IMG -f: %v", r)
	}
	// "--" ends the flags: what follows is an argument even if it looks
	// like one (a container named -x does not exist: docker's error).
	if r := st.skiff(nil, "rm", "--", "-x"); r.code != 1 || !strings.Contains(r.stderr, "No such container: -x") {
		t.Errorf("rm -- -x: %v", r)
	}
}

// TestI7CliErrorStyle: every error line is "skiff: " and docker's sentence,
// never two prefixes; images say "No such image: x:latest".
func TestI7CliErrorStyle(t *testing.T) {
	requireEnv(t)
	st := newStore(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"start", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\nskiff: failed to start containers: nosuch\n"},
		{[]string{"rm", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"stop", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"logs", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"wait", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"top", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"port", "nosuch"}, "skiff: Error response from daemon: No such container: nosuch\n"},
		{[]string{"inspect", "nosuch"}, "skiff: No such object: nosuch\n"},
		{[]string{"container", "inspect", "nosuch"}, "skiff: No such container: nosuch\n"},
		{[]string{"rmi", "nosuch"}, "skiff: No such image: nosuch:latest\n"},
		{[]string{"image", "inspect", "nosuch"}, "skiff: No such image: nosuch:latest\n"},
		{[]string{"image", "inspect", "nosuch:v1", "nosuch2"}, "skiff: No such image: nosuch:v1\nskiff: No such image: nosuch2:latest\n"},
		{[]string{"tag", "nosuch", "x"}, "skiff: No such image: nosuch:latest\n"},
		{[]string{"rmi", "Busybox"}, "skiff: invalid reference format: repository name (library/Busybox) must be lowercase\n"},
		{[]string{"image", "inspect", "/x"}, "skiff: invalid reference format\n"},
		{[]string{"inspect", "Busybox"}, "skiff: No such object: Busybox\n"},
	}
	for _, tt := range tests {
		r := st.skiff(nil, tt.args...)
		if r.code != 1 || r.stderr != tt.want {
			t.Errorf("skiff %s: %v\nwant exit 1 and stderr %q", strings.Join(tt.args, " "), r, tt.want)
		}
	}
}
