package commands

import (
	"errors"
	"reflect"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/spec"
)

// parseRun runs the real run flags through urfave as the app does and
// returns what runOptions makes of them.
func parseRun(t *testing.T, args ...string) (spec.Options, error) {
	t.Helper()
	var got spec.Options
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
		want func(o spec.Options) bool
		err  string
	}{
		{"args after image belong to the command", []string{"busybox", "ls", "-l"},
			func(o spec.Options) bool {
				return o.ImageRef == "busybox" && reflect.DeepEqual(o.Args, []string{"ls", "-l"})
			}, ""},
		{"flags after image are the command's", []string{"busybox", "sh", "-e", "-i"},
			func(o spec.Options) bool {
				return !o.Interactive && reflect.DeepEqual(o.Args, []string{"sh", "-e", "-i"})
			}, ""},
		{"env never splits on commas, forms mix", []string{"-e", "A=1,2", "--env", "B", "-e", "C=3", "busybox"},
			func(o spec.Options) bool { return reflect.DeepEqual(o.Env, []string{"A=1,2", "B", "C=3"}) }, ""},
		{"combined short flags", []string{"-it", "--rm", "busybox"},
			func(o spec.Options) bool { return o.Interactive && o.Tty && o.Remove }, ""},
		{"-h is hostname", []string{"-h", "web", "-w", "/srv", "-u", "1:2", "busybox"},
			func(o spec.Options) bool { return o.Hostname == "web" && o.Workdir == "/srv" && o.User == "1:2" }, ""},
		{"empty entrypoint is set", []string{"--entrypoint", "", "busybox"},
			func(o spec.Options) bool { return o.Entrypoint != nil && *o.Entrypoint == "" }, ""},
		{"no entrypoint flag", []string{"busybox"},
			func(o spec.Options) bool { return o.Entrypoint == nil }, ""},
		// The resource flags became real in issue 16: others stand in.
		{"unsupported value flag", []string{"--cpu-count", "2", "busybox"}, nil, "run: --cpu-count is not supported yet"},
		{"unsupported short alias", []string{"-a", "stdout", "busybox"}, nil, "run: --attach is not supported yet"},
		// --privileged became real in issue 18: --no-healthcheck stands in.
		{"unsupported bool flag", []string{"--no-healthcheck", "busybox"}, nil, "run: --no-healthcheck is not supported yet"},
		{"privileged", []string{"--privileged", "busybox"},
			func(o spec.Options) bool { return o.Host.Security.Privileged }, ""},
		{"unsupported flag in a cluster", []string{"-ita", "stdout", "busybox"}, nil, "run: --attach is not supported yet"},
		{"cpu shares short alias", []string{"-c", "512", "busybox"},
			func(o spec.Options) bool { return o.Host.Limits.CPUShares == 512 }, ""},
		{"memory in a cluster, swap doubled", []string{"-itm", "64m", "busybox"},
			func(o spec.Options) bool {
				return o.Tty && o.Host.Limits.Memory == 64<<20 && o.Host.Limits.MemorySwap == 128<<20
			}, ""},
		{"detach in a cluster", []string{"-itd", "busybox"},
			func(o spec.Options) bool { return o.Detach && o.Interactive && o.Tty }, ""},
		{"restart, init, labels, stop settings", []string{"--restart", "on-failure:2", "--init", "-l", "a=1", "--label", "b",
			"--stop-signal", "SIGINT", "--stop-timeout", "3", "busybox"},
			func(o spec.Options) bool {
				return o.Restart.Name == "on-failure" && o.Restart.MaximumRetryCount == 2 && o.Init &&
					reflect.DeepEqual(o.Labels, map[string]string{"a": "1", "b": ""}) &&
					o.StopSignal == "SIGINT" && o.StopTimeout != nil && *o.StopTimeout == 3
			}, ""},
		{"restart with --rm", []string{"--rm", "--restart", "always", "busybox"}, nil, "Conflicting options: --restart and --rm"},
		{"unknown flag is one line", []string{"--bogus", "busybox"}, nil, "unknown flag: --bogus\nSee 'skiff run --help'."},
		{"stop signal spellings", []string{"--stop-signal", "usr1", "busybox"},
			func(o spec.Options) bool { return o.StopSignal == "usr1" }, ""},
		{"stop signal by number", []string{"--stop-signal", "10", "busybox"},
			func(o spec.Options) bool { return o.StopSignal == "10" }, ""},
		{"bogus stop signal", []string{"--stop-signal", "BOGUS", "busybox"}, nil, "invalid signal: BOGUS"},
		{"env with no name", []string{"-e", "A=1", "-e", "=bad", "busybox"}, nil,
			`invalid argument "=bad" for "-e, --env" flag: invalid environment variable: =bad`},
		{"env with an empty value", []string{"-e", "A=", "busybox"},
			func(o spec.Options) bool { return reflect.DeepEqual(o.Env, []string{"A="}) }, ""},
		{"no stop timeout given stays unset", []string{"busybox"},
			func(o spec.Options) bool { return o.StopTimeout == nil }, ""},
		{"negative stop timeout waits for ever, as docker", []string{"--stop-timeout", "-1", "busybox"},
			func(o spec.Options) bool { return o.StopTimeout != nil && *o.StopTimeout == -1 }, ""},
		{"network none", []string{"--network", "none", "busybox"}, func(spec.Options) bool { return true }, ""},
		{"net none", []string{"--net=none", "busybox"}, func(spec.Options) bool { return true }, ""},
		{"network host", []string{"--network", "host", "busybox"}, func(o spec.Options) bool { return o.Network == spec.NetworkHost }, ""},
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

// TestParseRestartRefusesAsDocker: the CLI's and the daemon's checks, in
// their words.
func TestParseRestartRefusesAsDocker(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sometimes", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
		{"sometimes:3", "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"},
		{"on-failure:x", "invalid restart policy format: maximum retry count must be an integer"},
		{":3", "invalid restart policy format: no policy provided before colon"},
		{"always:3", "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
		{"no:1", "invalid restart policy: maximum retry count can only be used with 'on-failure'"},
		{"unless-stopped:-2", "invalid restart policy: maximum retry count can only be used with 'on-failure' and cannot be negative"},
		{"on-failure:-1", "invalid restart policy: maximum retry count cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := parseRestart(tt.in)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("parseRestart(%q) = %+v, %v; want error %q", tt.in, p, err, tt.want)
			}
		})
	}
	// A zero count is no count, and an empty one too, as docker's.
	for _, in := range []string{"always:0", "on-failure:", "no:0"} {
		if _, err := parseRestart(in); err != nil {
			t.Errorf("parseRestart(%q): %v, want it accepted", in, err)
		}
	}
}
