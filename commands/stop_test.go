package commands

import (
	"fmt"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// TestOperands runs a verb with docker-style flags among its arguments.
func TestOperands(t *testing.T) {
	tests := []struct {
		args []string
		want string // operands | format | tail | follow | timestamps
		err  string
	}{
		{[]string{"x"}, "x||all|false|false", ""},
		{[]string{"x", "-f", "{{.Id}}"}, "x|{{.Id}}|all|false|false", ""},
		{[]string{"-f", "{{.A}}", "x", "y"}, "x y|{{.A}}|all|false|false", ""},
		{[]string{"x", "--format={{.B}}", "y"}, "x y|{{.B}}|all|false|false", ""},
		{[]string{"x", "--tail", "3", "-Ft"}, "x||3|true|true", ""},
		{[]string{"x", "-n5"}, "x||5|false|false", ""},
		{[]string{"x", "--", "-f"}, "x -f||all|false|false", ""},
		{[]string{"x", "--bogus"}, "", "unknown flag: --bogus"},
		{[]string{"x", "-Fz"}, "", "unknown shorthand flag"},
		{[]string{"x", "--tail"}, "", "flag needs an argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got string
			cmd := &cli.Command{
				Name: "verb",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "format", Aliases: []string{"f"}},
					&cli.StringFlag{Name: "tail", Aliases: []string{"n"}, Value: "all"},
					&cli.BoolFlag{Name: "follow", Aliases: []string{"F"}},
					&cli.BoolFlag{Name: "timestamps", Aliases: []string{"t"}},
				},
				Action: func(c *cli.Context) error {
					ops, err := operands(c)
					if err != nil {
						return err
					}
					got = fmt.Sprintf("%s|%s|%s|%v|%v", strings.Join(ops, " "), c.String("format"), c.String("tail"), c.Bool("follow"), c.Bool("timestamps"))
					return nil
				},
			}
			app := &cli.App{Commands: []*cli.Command{cmd}, ExitErrHandler: func(*cli.Context, error) {}}
			err := app.Run(append([]string{"skiff", "verb"}, tt.args...))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
