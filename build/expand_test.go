package build

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// oneCommand parses "FROM x" plus line and returns the line's command.
func oneCommand(t *testing.T, escape, line string) instructions.Command {
	t.Helper()
	df := "FROM x\n" + line + "\n"
	if escape != "" {
		df = "# escape=" + escape + "\n" + df
	}
	p, err := Parse([]byte(df), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Stages[0].Steps[1].Cmd
}

// describe prints the expanded fields of a command the tests look at.
func describe(cmd instructions.Command) string {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		return pairs(c.Env)
	case *instructions.LabelCommand:
		return pairs(c.Labels)
	case *instructions.CopyCommand:
		var data []string
		for _, f := range c.SourceContents {
			data = append(data, f.Data)
		}
		return fmt.Sprintf("%v -> %s chown=%s chmod=%s from=%s %q", c.SourcePaths, c.DestPath, c.Chown, c.Chmod, c.From, data)
	case *instructions.AddCommand:
		return fmt.Sprintf("%v -> %s chown=%s", c.SourcePaths, c.DestPath, c.Chown)
	case *instructions.WorkdirCommand:
		return c.Path
	case *instructions.UserCommand:
		return c.User
	case *instructions.VolumeCommand:
		return fmt.Sprint(c.Volumes)
	case *instructions.StopSignalCommand:
		return c.Signal
	case *instructions.ExposeCommand:
		return fmt.Sprint(c.Ports)
	case *instructions.ArgCommand:
		var kv []string
		for _, a := range c.Args {
			kv = append(kv, a.Key+"="+a.ValueString())
		}
		return fmt.Sprint(kv)
	case *instructions.RunCommand:
		return fmt.Sprint(c.CmdLine)
	case *instructions.CmdCommand:
		return fmt.Sprint(c.CmdLine)
	case *instructions.EntrypointCommand:
		return fmt.Sprint(c.CmdLine)
	case *instructions.OnbuildCommand:
		return c.Expression
	}
	return fmt.Sprintf("%T", cmd)
}

func pairs(kvs instructions.KeyValuePairs) string {
	var out []string
	for _, kv := range kvs {
		out = append(out, kv.Key+"="+kv.Value)
	}
	return fmt.Sprint(out)
}

func TestBfrontExpand(t *testing.T) {
	env := []string{"A=1", "B=two words", "P=80 443/udp", "D=/data", "U=app", "EMPTY="}
	tests := []struct {
		line, escape, want string
	}{
		{line: `ENV X=$A Y="${B}" Z=\$A`, want: "[X=1 Y=two words Z=$A]"},
		{line: `ENV OLD legacy $A form`, want: "[OLD=legacy 1 form]"},
		{line: `LABEL "k$A"="v ${B}"`, want: "[k1=v two words]"},
		{line: `COPY --chown=$U:$U --chmod=${A}00 src$A $D/`, want: `[src1] -> /data/ chown=app:app chmod=100 from= []`},
		{line: `COPY --from=stage$A a b`, want: `[a] -> b chown= chmod= from=stage$A []`},
		{line: "COPY <<EOF /f\nv=$A \"q\"\nEOF", want: `[] -> /f chown= chmod= from= ["v=1 \"q\"\n"]`},
		{line: "COPY <<'EOF' /f\nv=$A\nEOF", want: `[] -> /f chown= chmod= from= ["v=$A\n"]`},
		{line: `ADD --chown=$U x.tar $D`, want: "[x.tar] -> /data chown=app"},
		{line: `WORKDIR $D/${A}`, want: "/data/1"},
		{line: `WORKDIR ${NOPE:-/fallback}`, want: "/fallback"},
		{line: `WORKDIR ${A:+set}`, want: "set"},
		{line: `USER ${U}:$A`, want: "app:1"},
		{line: `VOLUME $D ${D}2`, want: "[/data /data2]"},
		{line: `VOLUME ["$D"]`, want: "[/data]"},
		{line: `STOPSIGNAL SIG$EMPTY${A:-x}`, want: "SIG1"},
		{line: `EXPOSE $P 8080`, want: "[80 443/udp 8080]"},
		{line: `ARG X=$A Y`, want: "[X=1 Y=]"},
		{line: `RUN echo $A`, want: "[echo $A]"},
		{line: `CMD echo $A`, want: "[echo $A]"},
		{line: `ENTRYPOINT ["$A"]`, want: "[$A]"},
		{line: `ONBUILD RUN $A`, want: "RUN $A"},
		{line: "WORKDIR /a/`$A", escape: "`", want: "/a/$A"},
		{line: `COPY a\b $D`, escape: "`", want: `[a\b] -> /data chown= chmod= from= []`},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			cmd := oneCommand(t, tt.escape, tt.line)
			escape := '\\'
			if tt.escape != "" {
				escape = rune(tt.escape[0])
			}
			if err := Expand(cmd, env, escape); err != nil {
				t.Fatal(err)
			}
			if got := describe(cmd); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestBfrontExpandFrom(t *testing.T) {
	p, err := Parse([]byte("ARG T=1\nFROM --platform=$P img:${T}\n"), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := p.Stages[0].Steps[0].Cmd.(*FromCommand)
	if err := Expand(from, []string{"T=2", "P=linux/amd64"}, '\\'); err != nil {
		t.Fatal(err)
	}
	if from.BaseName != "img:2" || from.Platform != "linux/amd64" {
		t.Errorf("FROM expanded to %+v", from)
	}
}

func TestBfrontExpandErrors(t *testing.T) {
	for _, line := range []string{`WORKDIR ${A:?must be set}`, `ENV X=${A`} {
		t.Run(line, func(t *testing.T) {
			err := Expand(oneCommand(t, "", line), nil, '\\')
			if err == nil {
				t.Fatal("expanded")
			}
			if !strings.HasPrefix(err.Error(), strings.Fields(line)[0]+": ") {
				t.Errorf("error %q does not name the instruction", err)
			}
		})
	}
}
