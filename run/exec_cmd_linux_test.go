package run

import (
	"os"
	"reflect"
	"testing"
)

// The test binary doubles as the exec side, as it does as the init.
func init() {
	if len(os.Args) > 1 && os.Args[1] == ExecArg {
		ExecInit()
	}
}

func TestExecEnv(t *testing.T) {
	lookup := func(k string) (string, bool) {
		if k == "OURS" {
			return "v", true
		}
		return "", false
	}
	base := []string{"PATH=/bin", "A=1", "TERM=dumb"}
	tests := []struct {
		name string
		o    ExecOptions
		want []string
	}{
		{"container's env", ExecOptions{}, base},
		{"-e replaces in place, appends, takes ours, removes unset",
			ExecOptions{Env: []string{"A=2", "B=3", "OURS", "PATH"}},
			[]string{"A=2", "TERM=dumb", "B=3", "OURS=v"}},
		{"-t keeps the container's TERM", ExecOptions{Tty: true}, base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := execEnv(base, tt.o, lookup); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("-t adds TERM=xterm", func(t *testing.T) {
		got := execEnv([]string{"PATH=/bin"}, ExecOptions{Tty: true}, lookup)
		if want := []string{"PATH=/bin", "TERM=xterm"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}
