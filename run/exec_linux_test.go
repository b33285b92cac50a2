package run

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin, other := filepath.Join(dir, "bin"), filepath.Join(dir, "other")
	for _, d := range []string{bin, other, filepath.Join(bin, "adir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "tool"), 0o755)
	write(filepath.Join(bin, "data"), 0o644)
	write(filepath.Join(other, "data"), 0o755) // found after the non-executable one
	path := []string{"A=1", "PATH=" + bin + ":" + other}

	tests := []struct {
		name, file string
		env        []string
		want       string
		wantCode   int
		wantMsg    string
	}{
		{name: "in PATH", file: "tool", env: path, want: filepath.Join(bin, "tool")},
		{name: "skips non-executable", file: "data", env: path, want: filepath.Join(other, "data")},
		{name: "skips directories", file: "adir", env: path, wantCode: 127, wantMsg: `exec: "adir": executable file not found in $PATH`},
		{name: "missing", file: "nope", env: path, wantCode: 127, wantMsg: `exec: "nope": executable file not found in $PATH`},
		{name: "default PATH", file: "tool", env: nil, wantCode: 127},
		{name: "absolute", file: filepath.Join(bin, "tool"), env: nil, want: filepath.Join(bin, "tool")},
		{name: "absolute missing", file: "/nonexistent/x", wantCode: 127, wantMsg: `exec: "/nonexistent/x": stat /nonexistent/x: no such file or directory`},
		{name: "absolute directory", file: bin, wantCode: 126, wantMsg: `exec: "` + bin + `": permission denied`},
		{name: "absolute not executable", file: filepath.Join(bin, "data"), wantCode: 126, wantMsg: `exec: "` + filepath.Join(bin, "data") + `": permission denied`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ierr := lookPath(tt.file, tt.env)
			if tt.wantCode != 0 {
				if ierr == nil || ierr.code != tt.wantCode {
					t.Fatalf("got %q, %v; want code %d", got, ierr, tt.wantCode)
				}
				if tt.wantMsg != "" && ierr.msg != tt.wantMsg {
					t.Errorf("msg = %q, want %q", ierr.msg, tt.wantMsg)
				}
				return
			}
			if ierr != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, ierr, tt.want)
			}
		})
	}
}
