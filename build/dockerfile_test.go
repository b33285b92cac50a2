package build

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// planShape is a Plan reduced to what the tests compare: per stage
// "name@index<-base" and its steps as "N:line:text".
func planShape(p *Plan) []string {
	var out []string
	for _, s := range p.MetaSteps {
		out = append(out, fmt.Sprintf("%d:%d:%s", s.N, s.Line, s.Text))
	}
	for _, st := range p.Stages {
		base := st.Base
		if st.BaseStage != nil {
			base = fmt.Sprintf("stage %d", st.BaseStage.Index)
		}
		out = append(out, fmt.Sprintf("[%s@%d<-%s]", st.Name, st.Index, base))
		for _, s := range st.Steps {
			out = append(out, fmt.Sprintf("%d:%d:%s", s.N, s.Line, s.Text))
		}
	}
	return out
}

func strp(s string) *string { return &s }

func TestBfrontParse(t *testing.T) {
	tests := []struct {
		name, df string
		opts     ParseOptions
		want     []string
		steps    int
	}{{
		name: "one stage, FROM counts",
		df:   "FROM busybox\nRUN echo hi\nCMD [\"sh\"]\n",
		want: []string{"[@0<-busybox]", "1:1:FROM busybox", "2:2:RUN echo hi", `3:3:CMD ["sh"]`}, steps: 3,
	}, {
		name: "continuations joined, comments and blank lines skipped",
		df:   "# comment\n\nFROM busybox\nRUN echo a \\\n  b \\\n# inside\n  c\nENV A=1\n",
		want: []string{"[@0<-busybox]", "1:3:FROM busybox", "2:4:RUN echo a   b   c", "3:8:ENV A=1"}, steps: 3,
	}, {
		name: "escape directive",
		df:   "# escape=`\nFROM busybox\nRUN echo a `\n  b\nCOPY a\\b /c\n",
		want: []string{"[@0<-busybox]", "1:2:FROM busybox", "2:3:RUN echo a   b", `3:5:COPY a\b /c`}, steps: 3,
	}, {
		name: "CRLF line ends and a byte-order mark",
		df:   "\ufeffFROM busybox\r\nRUN echo a \\\r\n  b\r\n",
		want: []string{"[@0<-busybox]", "1:1:FROM busybox", "2:2:RUN echo a   b"}, steps: 2,
	}, {
		name: "syntax directive accepted",
		df:   "# syntax=docker/dockerfile:1\nFROM busybox\n",
		want: []string{"[@0<-busybox]", "1:2:FROM busybox"}, steps: 1,
	}, {
		name: "ARG before FROM: steps of their own, the FROM expanded",
		df:   "ARG TAG=1.36\nARG IMG=busybox\nFROM ${IMG}:$TAG\nRUN true\n",
		want: []string{"1:1:ARG TAG=1.36", "2:2:ARG IMG=busybox", "[@0<-busybox:1.36]", "3:3:FROM ${IMG}:$TAG", "4:4:RUN true"}, steps: 4,
	}, {
		name: "build arg overrides a meta ARG",
		df:   "ARG TAG=1.36\nFROM busybox:$TAG\n",
		opts: ParseOptions{BuildArgs: map[string]*string{"TAG": strp("latest")}},
		want: []string{"1:1:ARG TAG=1.36", "[@0<-busybox:latest]", "2:2:FROM busybox:$TAG"}, steps: 2,
	}, {
		name: "meta ARG default sees earlier ones, unset expands empty",
		df:   "ARG A=x\nARG B=${A}y\nFROM img:$B$NOPE\n",
		want: []string{"1:1:ARG A=x", "2:2:ARG B=${A}y", "[@0<-img:xy]", "3:3:FROM img:$B$NOPE"}, steps: 3,
	}, {
		name: "AS name lower-cased, FROM a stage",
		df:   "FROM busybox AS Build\nRUN make\nFROM build\nRUN test\n",
		want: []string{"[build@0<-busybox]", "1:1:FROM busybox AS Build", "2:2:RUN make", "[@1<-stage 0]", "3:3:FROM build", "4:4:RUN test"}, steps: 4,
	}, {
		name: "unused stages dropped, numbering over the needed ones",
		df:   "FROM alpine AS unused\nRUN x\nFROM busybox AS a\nRUN a\nFROM scratch\nCOPY --from=a /a /a\n",
		want: []string{"[a@1<-busybox]", "1:3:FROM busybox AS a", "2:4:RUN a", "[@2<-scratch]", "3:5:FROM scratch", "4:6:COPY --from=a /a /a"}, steps: 4,
	}, {
		name: "--target stops early and keeps its dependencies",
		df:   "FROM busybox AS base\nFROM alpine AS other\nFROM base AS mid\nCOPY --from=0 /x /x\nFROM mid AS final\n",
		opts: ParseOptions{Target: "MID"},
		want: []string{"[base@0<-busybox]", "1:1:FROM busybox AS base", "[mid@2<-stage 0]", "2:3:FROM base AS mid", "3:4:COPY --from=0 /x /x"}, steps: 3,
	}, {
		name: "COPY --from an image is no stage",
		df:   "FROM scratch AS s\nFROM busybox\nCOPY --from=alpine:3 /etc/os-release /\n",
		want: []string{"[@1<-busybox]", "1:2:FROM busybox", "2:3:COPY --from=alpine:3 /etc/os-release /"}, steps: 2,
	}, {
		name: "COPY --from expanded with meta ARGs",
		df:   "ARG SRC=b\nFROM busybox AS a\nFROM busybox AS b\nFROM scratch\nCOPY --from=$SRC /x /x\n",
		want: []string{"1:1:ARG SRC=b", "[b@1<-busybox]", "2:3:FROM busybox AS b", "[@2<-scratch]", "3:4:FROM scratch", "4:5:COPY --from=$SRC /x /x"}, steps: 4,
	}, {
		name: "heredoc: the first line is the step's text",
		df:   "FROM busybox\nRUN <<EOF\necho a\necho b\nEOF\nCOPY <<-X /f\n\thello\n\tX\nUSER 1\n",
		want: []string{"[@0<-busybox]", "1:1:FROM busybox", "2:2:RUN <<EOF", "3:6:COPY <<-X /f", "4:9:USER 1"}, steps: 4,
	}, {
		name: "every instruction parses",
		df: "FROM busybox\nADD --chown=1:1 a.tar /\nARG V\nCMD echo\nCOPY --chmod=644 --link a /b\nENTRYPOINT [\"sh\"]\n" +
			"ENV A=1\nEXPOSE 80/udp\nHEALTHCHECK --interval=5s CMD true\nLABEL a=b\nMAINTAINER me\nONBUILD RUN x\n" +
			"RUN x\nSHELL [\"/bin/bash\", \"-c\"]\nSTOPSIGNAL SIGINT\nUSER u\nVOLUME /v\nWORKDIR /w\n",
		steps: 18,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.df), "Dockerfile", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.Steps != tt.steps {
				t.Errorf("Steps = %d, want %d", p.Steps, tt.steps)
			}
			if got := planShape(p); tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plan\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBfrontParseErrors(t *testing.T) {
	tests := []struct {
		name, df string
		opts     ParseOptions
		want     string
	}{
		{"unknown instruction", "FROM busybox\nFROBNICATE x\n", ParseOptions{}, "Dockerfile:2: unknown instruction: FROBNICATE"},
		{"unknown instruction after continuation", "FROM busybox\nRUN a \\\n  b\nBOGUS\n", ParseOptions{}, "Dockerfile:4: unknown instruction: BOGUS"},
		{"instruction before FROM", "RUN x\nFROM busybox\n", ParseOptions{}, "Dockerfile:1: no build stage in current context"},
		{"empty file", "# nothing\n", ParseOptions{}, "Dockerfile:1: file with no instructions"},
		{"FROM arity", "FROM a b\n", ParseOptions{}, "Dockerfile:1: FROM requires either one or three arguments"},
		{"bad stage name", "FROM a AS 1x\n", ParseOptions{}, `Dockerfile:1: invalid name for build stage: "1x"`},
		{"duplicate stage", "FROM a AS x\nFROM b AS x\n", ParseOptions{}, "Dockerfile:2: x stage name already used"},
		{"missing target", "FROM a AS x\n", ParseOptions{Target: "y"}, "failed to reach build target y in Dockerfile"},
		{"ENV without value", "FROM a\nENV\n", ParseOptions{}, "Dockerfile:2: ENV requires at least one argument"},
		{"unterminated heredoc", "FROM a\nRUN <<EOF\necho\n", ParseOptions{}, "Dockerfile:2: unterminated heredoc"},
		{"bad escape", "# escape=x\nFROM a\n", ParseOptions{}, "Dockerfile:1: invalid escape token"},
		{"blank base", "ARG B\nFROM $B\n", ParseOptions{}, "Dockerfile:2: base name ($B) should not be blank"},
		{"COPY --from a later stage", "FROM a\nFROM b\nCOPY --from=1 /x /x\n", ParseOptions{}, "Dockerfile:3: invalid from flag value 1: refers to current or later build stage"},
		{"unknown flag", "FROM a\nCOPY --bogus=1 a b\n", ParseOptions{}, "Dockerfile:2: unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.df), "Dockerfile", tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestBfrontParseBuildArgFromEnvironment(t *testing.T) {
	t.Setenv("BFRONT_TAG", "from-env")
	df := []byte("ARG BFRONT_TAG=def\nARG BFRONT_UNSET=def\nFROM img:$BFRONT_TAG-$BFRONT_UNSET\n")
	p, err := Parse(df, "Dockerfile", ParseOptions{BuildArgs: map[string]*string{"BFRONT_TAG": nil, "BFRONT_UNSET": nil}})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Stages[0].Base; got != "img:from-env-def" {
		t.Errorf("Base = %q, want img:from-env-def (nil value from the environment; unset there: not given)", got)
	}
	if _, given := p.BuildArgs["BFRONT_UNSET"]; given {
		t.Errorf("BuildArgs keeps an arg the environment does not have: %v", p.BuildArgs)
	}
}

func TestBfrontParseTypedCommands(t *testing.T) {
	df := "ARG V=1\nFROM --platform=linux/amd64 busybox AS b\nCOPY --from=x --chown=1:2 --chmod=600 a* d/ /dst/\n" +
		"RUN --network=none <<EOF\necho $V\nEOF\nHEALTHCHECK --retries=2 CMD [\"true\"]\n"
	p, err := Parse([]byte(df), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	steps := p.Stages[0].Steps
	from := steps[0].Cmd.(*FromCommand)
	if from.Name() != "FROM" || from.String() != "FROM --platform=linux/amd64 busybox AS b" || from.Location()[0].Start.Line != 2 {
		t.Errorf("FROM command: %q %q %v", from.Name(), from.String(), from.Location())
	}
	if from.BaseName != "busybox" || from.Platform != "linux/amd64" || from.StageName != "b" || p.Stages[0].Platform != "linux/amd64" {
		t.Errorf("FROM = %+v, stage platform %q", from, p.Stages[0].Platform)
	}
	cp := steps[1].Cmd.(*instructions.CopyCommand)
	if cp.From != "x" || cp.Chown != "1:2" || cp.Chmod != "600" || !reflect.DeepEqual(cp.SourcePaths, []string{"a*", "d/"}) || cp.DestPath != "/dst/" {
		t.Errorf("COPY = %+v", cp)
	}
	run := steps[2].Cmd.(*instructions.RunCommand)
	if len(run.Files) != 1 || run.Files[0].Data != "echo $V\n" {
		t.Errorf("RUN heredoc = %+v", run.Files)
	}
	if hc := steps[3].Cmd.(*instructions.HealthCheckCommand); hc.Health.Retries != 2 {
		t.Errorf("HEALTHCHECK = %+v", hc.Health)
	}
	if len(p.MetaArgs) != 1 || p.MetaArgs[0].Args[0].Key != "V" || p.GlobalArgs["V"] != "1" {
		t.Errorf("meta args %+v, globals %v", p.MetaArgs, p.GlobalArgs)
	}
}

func TestBfrontArgValue(t *testing.T) {
	p, err := Parse([]byte("ARG G=global\nFROM a\n"), "Dockerfile", ParseOptions{BuildArgs: map[string]*string{"B": strp("cli")}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		kv     instructions.KeyValuePairOptional
		want   string
		wantOK bool
	}{
		{instructions.KeyValuePairOptional{Key: "B", Value: strp("default")}, "cli", true},
		{instructions.KeyValuePairOptional{Key: "D", Value: strp("default")}, "default", true},
		{instructions.KeyValuePairOptional{Key: "G"}, "global", true},
		{instructions.KeyValuePairOptional{Key: "G", Value: strp("own")}, "own", true},
		{instructions.KeyValuePairOptional{Key: "N"}, "", false},
	}
	for _, tt := range tests {
		if got, ok := p.ArgValue(tt.kv); got != tt.want || ok != tt.wantOK {
			t.Errorf("ArgValue(%s) = %q, %v; want %q, %v", tt.kv.Key, got, ok, tt.want, tt.wantOK)
		}
	}
	if !IsPredefinedArg("HTTP_PROXY") || !IsPredefinedArg("no_proxy") || IsPredefinedArg("PATH") {
		t.Error("IsPredefinedArg: docker's proxy args only")
	}
}

func TestBfrontStageRef(t *testing.T) {
	p, err := Parse([]byte("ARG S=two\nFROM a AS one\nFROM b AS two\nFROM c\nCOPY --from=one /x /x\nCOPY --from=1 /y /y\nCOPY --from=$S /z /z\n"), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last := p.Stages[len(p.Stages)-1]
	for ref, want := range map[string]int{"one": 0, "ONE": 0, "1": 1, "$S": 1, "${S}": 1, "busybox": -1, "2": -1} {
		got := p.StageRef(last, ref)
		if (got == nil) != (want < 0) || (got != nil && got.Index != want) {
			t.Errorf("StageRef(%q) = %+v, want index %d", ref, got, want)
		}
	}
}

func TestBfrontParseTriggers(t *testing.T) {
	cmds, err := ParseTriggers([]string{"RUN echo built", `COPY --chown=1 . /app`, "ENV A=1 \\\n B=2"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.Name())
	}
	if want := []string{"RUN", "COPY", "ENV"}; !reflect.DeepEqual(names, want) {
		t.Errorf("triggers %q, want %q", names, want)
	}
	if env := cmds[2].(*instructions.EnvCommand); len(env.Env) != 2 {
		t.Errorf("ENV trigger %+v", env.Env)
	}
	for trigger, want := range map[string]string{
		"ONBUILD RUN x": "Chaining ONBUILD", "FROM x": "FROM isn't allowed", "MAINTAINER me": "MAINTAINER isn't allowed",
		"BOGUS": "unknown instruction: BOGUS", "ENV": "ENV requires at least one argument",
	} {
		if _, err := ParseTriggers([]string{trigger}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", trigger, err, want)
		}
	}
}

func TestBfrontParseWarnings(t *testing.T) {
	p, err := Parse([]byte("FROM a\nRUN echo \\\n\n  x\n"), "Dockerfile", ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[WARNING]: Empty continuation line found in: RUN echo   x",
		"[WARNING]: Empty continuation lines will become errors in a future release."}
	if !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("warnings %q, want %q", p.Warnings, want)
	}
	if p, _ := Parse([]byte("FROM a\n"), "Dockerfile", ParseOptions{}); len(p.Warnings) != 0 {
		t.Errorf("warnings for a clean file: %q", p.Warnings)
	}
}

// Parse and Expand never panic on a hostile Dockerfile (go test -fuzz).
func FuzzBfrontParse(f *testing.F) {
	for _, seed := range []string{
		"FROM a\nRUN x\n", "ARG A=$B\nFROM ${A:-x} AS s\nCOPY --from=s a b\nFROM s\n",
		"# escape=`\nFROM a\nRUN <<EOF\nx\nEOF\n", "FROM a AS b\nFROM b\nCOPY --from=0 / /\nEXPOSE $P\n",
	} {
		f.Add(seed, "")
	}
	f.Fuzz(func(t *testing.T, df, target string) {
		// A Dockerfile that makes the parser spin would hang a build: fail
		// with the input instead.
		watchdog := time.AfterFunc(2*time.Second, func() { panic(fmt.Sprintf("slow input %q target %q", df, target)) })
		defer watchdog.Stop()
		p, err := Parse([]byte(df), "Dockerfile", ParseOptions{Target: target})
		if err != nil {
			return
		}
		for _, st := range p.Stages {
			for _, step := range st.Steps {
				Expand(step.Cmd, []string{"A=1", "P=80 81"}, p.Escape)
			}
		}
	})
}
