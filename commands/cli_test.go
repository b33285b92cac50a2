package commands

import (
	"fmt"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp is a small app with docker-shaped verbs: a verb with value and
// bool flags, a verb whose flags end at its first argument, and a group.
func testApp(got *string) *cli.App {
	verb := func(name string) *cli.Command {
		return &cli.Command{
			Name: name,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "format", Aliases: []string{"f"}},
				&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all"},
				&cli.BoolFlag{Name: "follow", Aliases: []string{"F"}},
				&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}},
			},
			Action: func(c *cli.Context) error {
				*got = fmt.Sprintf("%s|%s|%s|%v|%v", strings.Join(c.Args().Slice(), " "), c.String("format"), c.String("tail"), c.Bool("follow"), c.Bool("timestamps"))
				return nil
			},
		}
	}
	app := &cli.App{
		Name:  "skiff",
		Flags: []cli.Flag{&cli.StringFlag{Name: "root"}},
		Commands: []*cli.Command{
			verb("logs"), verb("run"),
			{Name: "container", Subcommands: []*cli.Command{verb("logs")}},
		},
		OnUsageError:   flagError,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	setFlagError(app.Commands)
	return app
}

// TestFlagsAfterOperands runs verbs with docker-style flags among their
// arguments, as cobra's interspersed parsing allows.
func TestFlagsAfterOperands(t *testing.T) {
	tests := []struct {
		args []string
		want string // operands | format | tail | follow | timestamps
		err  string
	}{
		{[]string{"logs", "x"}, "x||all|false|false", ""},
		{[]string{"logs", "x", "-f", "{{.Id}}"}, "x|{{.Id}}|all|false|false", ""},
		{[]string{"logs", "-f", "{{.A}}", "x", "y"}, "x y|{{.A}}|all|false|false", ""},
		{[]string{"logs", "x", "--format={{.B}}", "y"}, "x y|{{.B}}|all|false|false", ""},
		{[]string{"logs", "x", "--tail", "3", "-Ft"}, "x||3|true|true", ""},
		{[]string{"logs", "x", "-n5"}, "x||5|false|false", ""},
		{[]string{"logs", "x", "-tn", "7"}, "x||7|false|true", ""},
		{[]string{"logs", "x", "--", "-f"}, "x -f||all|false|false", ""},
		{[]string{"logs", "-", "-t"}, "-||all|false|true", ""},
		{[]string{"--root", "/r", "container", "logs", "x", "-F"}, "x||all|true|false", ""},
		{[]string{"--root=/r", "logs", "x", "-F"}, "x||all|true|false", ""},
		// run's flags end at its first argument: the rest is the command.
		{[]string{"run", "-t", "img", "-f", "x"}, "img -f x||all|false|true", ""},
		{[]string{"run", "-t", "--", "img", "-f", "--", "x"}, "img -f -- x||all|false|true", ""},
		{[]string{"run", "--", "-img"}, "-img||all|false|false", ""},
		{[]string{"logs", "x", "--bogus"}, "", "unknown flag: --bogus\nSee 'skiff logs --help'."},
		{[]string{"container", "logs", "x", "--bogus"}, "", "unknown flag: --bogus\nSee 'skiff container logs --help'."},
		{[]string{"logs", "x", "-Fz"}, "", "unknown shorthand flag: 'z' in -Fz"},
		{[]string{"logs", "x", "-z"}, "", "unknown shorthand flag: 'z' in -z\nSee 'skiff logs --help'."},
		{[]string{"logs", "x", "--tail"}, "", "flag needs an argument: --tail"},
		{[]string{"--bogus", "logs"}, "", "unknown flag: --bogus\nSee 'skiff --help'."},
		{[]string{"foo"}, "", "'foo' is not a skiff command.\nSee 'skiff --help'"},
		{[]string{"container", "foo", "x"}, "", "'container foo' is not a skiff command."},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got string
			app := testApp(&got)
			args, u := prepareArgs(app, append([]string{"skiff"}, tt.args...))
			var err error
			code := 0
			if u != nil {
				err, code = fmt.Errorf("%s", u.msg), u.code
			} else if err = app.Run(args); err != nil {
				code = err.(*ExitError).Code
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				want := 125
				if strings.Contains(tt.err, "not a skiff command") {
					want = 1
				}
				if code != want {
					t.Errorf("exit %d, want %d", code, want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPflagWording(t *testing.T) {
	tests := []struct{ in, want string }{
		{"flag provided but not defined: -bogus", "unknown flag: --bogus"},
		{"flag provided but not defined: -z", "unknown shorthand flag: 'z' in -z"},
		{"flag needs an argument: -name", "flag needs an argument: --name"},
		{"flag needs an argument: -n", "flag needs an argument: 'n' in -n"},
		{`invalid value "x" for flag -last: parse error`, `invalid argument "x" for "--last" flag: parse error`},
		{`invalid boolean value "x" for -a: parse error`, `invalid argument "x" for "-a" flag: parse error`},
		{"something else", "something else"},
	}
	for _, tt := range tests {
		if got := pflagWording(tt.in); got != tt.want {
			t.Errorf("pflagWording(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
