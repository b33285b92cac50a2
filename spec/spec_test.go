package spec

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func strp(s string) *string { return &s }

func TestArgv(t *testing.T) {
	img := v1.Config{Entrypoint: []string{"/ep"}, Cmd: []string{"c1", "c2"}}
	tests := []struct {
		name    string
		img     v1.Config
		opts    Options
		want    []string
		wantErr error
	}{
		{"image only", img, Options{}, []string{"/ep", "c1", "c2"}, nil},
		{"args replace cmd", img, Options{Args: []string{"ls", "-l"}}, []string{"/ep", "ls", "-l"}, nil},
		{"entrypoint clears image cmd", img, Options{Entrypoint: strp("/bin/sh")}, []string{"/bin/sh"}, nil},
		{"entrypoint and args", img, Options{Entrypoint: strp("/bin/sh"), Args: []string{"-c", "id"}}, []string{"/bin/sh", "-c", "id"}, nil},
		{"empty entrypoint resets", img, Options{Entrypoint: strp(""), Args: []string{"echo"}}, []string{"echo"}, nil},
		{"cmd only image", v1.Config{Cmd: []string{"sh"}}, Options{}, []string{"sh"}, nil},
		{"nothing", v1.Config{}, Options{}, nil, ErrNoCommand},
		{"empty entrypoint no args", img, Options{Entrypoint: strp("")}, nil, ErrNoCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, cmd, err := Argv(tt.img, tt.opts)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if got := append(ep, cmd...); tt.wantErr == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("argv %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	caller := map[string]string{"FROMHOST": "h", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := caller[k]; return v, ok }
	tests := []struct {
		name string
		img  []string
		opts Options
		want []string
	}{
		{"default path", nil, Options{}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1"}},
		{"image path replaces default in place", []string{"HOME=/root", "PATH=/x"}, Options{}, []string{"PATH=/x", "HOSTNAME=h1", "HOME=/root"}},
		{"tty adds TERM", nil, Options{Tty: true}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "TERM=xterm"}},
		{"comma is one value", nil, Options{Env: []string{"A=1,2"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "A=1,2"}},
		{"later wins", []string{"A=img"}, Options{EnvFile: []string{"A=file"}, Env: []string{"A=flag"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "A=flag"}},
		{"env file before -e", nil, Options{EnvFile: []string{"B=file"}, Env: []string{"C=flag"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "B=file", "C=flag"}},
		{"bare takes caller's value", nil, Options{Env: []string{"FROMHOST", "EMPTY"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "FROMHOST=h", "EMPTY="}},
		{"bare unset is dropped", []string{"UNSET=img"}, Options{Env: []string{"UNSET", "NOPE"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1"}},
		{"value with equals", nil, Options{Env: []string{"Q=a=b"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "Q=a=b"}},
		{"user TERM overrides", nil, Options{Tty: true, Env: []string{"TERM=dumb"}}, []string{"PATH=" + DefaultPath, "HOSTNAME=h1", "TERM=dumb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Env(v1.Config{Env: tt.img}, tt.opts, "h1", lookup)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("env\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestParseEnvFile(t *testing.T) {
	got, err := ParseEnvFile(strings.NewReader("# comment\n\nA=1,2\n  B\nC=x y\n"), "f")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A=1,2", "B", "C=x y"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := ParseEnvFile(strings.NewReader("BAD KEY=1\n"), "f"); err == nil {
		t.Fatal("whitespace in a name accepted")
	}
}

func TestBuildSpec(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name     string
		img      v1.Config
		opts     Options
		host     string
		cwd      string
		terminal bool
		err      string
	}{
		{"defaults", v1.Config{Cmd: []string{"sh"}}, Options{}, "0123456789ab", "/", false, ""},
		{"flags override", v1.Config{Cmd: []string{"sh"}, WorkingDir: "/img"}, Options{Hostname: "web", Domainname: "example.com", Workdir: "/w", Tty: true}, "web", "/w", true, ""},
		{"image workdir", v1.Config{Cmd: []string{"sh"}, WorkingDir: "/img/"}, Options{}, "0123456789ab", "/img", false, ""},
		{"relative -w", v1.Config{Cmd: []string{"sh"}}, Options{Workdir: "rel"}, "", "", false, "the working directory 'rel' is invalid, it needs to be an absolute path"},
		{"no command", v1.Config{}, Options{}, "", "", false, "no command specified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Build(Input{ID: id, Rootfs: "/r", Image: tt.img, Opts: tt.opts, HostsFile: "/s/hosts"})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Domainname != tt.opts.Domainname {
				t.Errorf("domainname %q, want --domainname %q", s.Domainname, tt.opts.Domainname)
			}
			if s.Hostname != tt.host || s.Process.Cwd != tt.cwd || s.Process.Terminal != tt.terminal {
				t.Fatalf("hostname %q cwd %q terminal %v", s.Hostname, s.Process.Cwd, s.Process.Terminal)
			}
			if IndexEnv(s.Process.Env, "HOSTNAME") < 0 || s.Process.Env[IndexEnv(s.Process.Env, "HOSTNAME")] != "HOSTNAME="+tt.host {
				t.Errorf("HOSTNAME env not %s: %q", tt.host, s.Process.Env)
			}
			if len(s.Process.Capabilities.Bounding) != 14 || !reflect.DeepEqual(s.Process.Capabilities.Effective, DefaultCaps) {
				t.Errorf("caps %q", s.Process.Capabilities.Bounding)
			}
			last := s.Mounts[len(s.Mounts)-1]
			if last.Destination != "/etc/hosts" || last.Source != "/s/hosts" || last.Type != "bind" {
				t.Errorf("last mount %+v, want the /etc/hosts bind", last)
			}
			if len(s.Linux.MaskedPaths) != 12 || len(s.Linux.ReadonlyPaths) != 5 {
				t.Errorf("masked %d readonly %d", len(s.Linux.MaskedPaths), len(s.Linux.ReadonlyPaths))
			}
		})
	}
}

func TestNoDeviceCgroupDropsMknod(t *testing.T) {
	for _, noDevCg := range []bool{false, true} {
		s, err := Build(Input{ID: strings.Repeat("a", 64), Rootfs: "/r", Image: v1.Config{Cmd: []string{"sh"}}, NoDeviceCgroup: noDevCg})
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range [][]string{s.Process.Capabilities.Bounding, s.Process.Capabilities.Effective, s.Process.Capabilities.Permitted} {
			if got := slices.Contains(set, "CAP_MKNOD"); got == noDevCg {
				t.Errorf("NoDeviceCgroup %v: CAP_MKNOD in set %v", noDevCg, got)
			}
		}
	}
}

func TestHostsFile(t *testing.T) {
	h := HostsFile("abc")
	for _, line := range []string{"127.0.0.1\tlocalhost\n", "::1\tlocalhost ip6-localhost ip6-loopback\n", "\tabc\n"} {
		if !strings.Contains(h, line) {
			t.Errorf("hosts file lacks %q:\n%s", line, h)
		}
	}
}
