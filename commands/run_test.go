package commands

import (
	"errors"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/run"
)

// parseRun runs the real run flags through urfave as the app does and
// returns what runOptions makes of them.
func parseRun(t *testing.T, args ...string) (run.Options, error) {
	t.Helper()
	var got run.Options
	cmd := runCommand()
	cmd.Action = func(c *cli.Context) error {
		if err := checkUnsupported(c); err != nil {
			return err
		}
		var err error
		got, err = runOptions(c, &Globals{})
		return err
	}
	app := &cli.App{Name: "skiff", Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
	setFlagError(app.Commands)
	argv, u := prepareArgs(app, append([]string{"skiff", "run"}, args...))
	if u != nil {
		return got, &ExitError{Code: u.code, Err: errors.New(u.msg)}
	}
	err := app.Run(argv)
	return got, err
}

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want func(o run.Options) bool
		err  string
	}{
		{"args after image belong to the command", []string{"busybox", "ls", "-l"},
			func(o run.Options) bool {
				return o.ImageRef == "busybox" && reflect.DeepEqual(o.Args, []string{"ls", "-l"})
			}, ""},
		{"flags after image are the command's", []string{"busybox", "sh", "-e", "-i"},
			func(o run.Options) bool {
				return !o.Interactive && reflect.DeepEqual(o.Args, []string{"sh", "-e", "-i"})
			}, ""},
		{"env never splits on commas, forms mix", []string{"-e", "A=1,2", "--env", "B", "-e", "C=3", "busybox"},
			func(o run.Options) bool { return reflect.DeepEqual(o.Env, []string{"A=1,2", "B", "C=3"}) }, ""},
		{"combined short flags", []string{"-it", "--rm", "busybox"},
			func(o run.Options) bool { return o.Interactive && o.Tty && o.Remove }, ""},
		{"-h is hostname", []string{"-h", "web", "-w", "/srv", "-u", "1:2", "busybox"},
			func(o run.Options) bool { return o.Hostname == "web" && o.Workdir == "/srv" && o.User == "1:2" }, ""},
		{"empty entrypoint is set", []string{"--entrypoint", "", "busybox"},
			func(o run.Options) bool { return o.Entrypoint != nil && *o.Entrypoint == "" }, ""},
		{"no entrypoint flag", []string{"busybox"},
			func(o run.Options) bool { return o.Entrypoint == nil }, ""},
		{"unsupported value flag", []string{"--cpus", "2", "busybox"}, nil, "run: --cpus is not supported yet"},
		{"unsupported short alias", []string{"-v", "/a:/b", "busybox"}, nil, "run: --volume is not supported yet"},
		{"unsupported bool flag", []string{"--privileged", "busybox"}, nil, "run: --privileged is not supported yet"},
		{"unsupported flag in a cluster", []string{"-itp", "80:80", "busybox"}, nil, "run: --publish is not supported yet"},
		{"detach in a cluster", []string{"-itd", "busybox"},
			func(o run.Options) bool { return o.Detach && o.Interactive && o.Tty }, ""},
		{"restart, init, labels, stop settings", []string{"--restart", "on-failure:2", "--init", "-l", "a=1", "--label", "b",
			"--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox"},
			func(o run.Options) bool {
				return o.Restart.Name == "on-failure" && o.Restart.MaximumRetryCount == 2 && o.Init &&
					reflect.DeepEqual(o.Labels, map[string]string{"a": "1", "b": ""}) &&
					o.StopSignal == "SIGINT" && o.StopTimeout != nil && *o.StopTimeout == 3
			}, ""},
		{"restart with --rm", []string{"--rm", "--restart", "always", "busybox"}, nil, "Conflicting options: --restart and --rm"},
		{"unknown flag is one line", []string{"--bogus", "busybox"}, nil, "unknown flag: --bogus\nSee 'skiff run --help'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseRun(t, tt.args...)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
	_, err := parseRun(t, "--bogus", "busybox")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 125 {
		t.Errorf("unknown flag: %v, want exit 125", err)
	}
}
