package commands

import "testing"

func TestParseSecret(t *testing.T) {
	for _, tt := range []struct {
		in, id, src, env, err string
	}{
		{in: "id=tok,src=/a/b", id: "tok", src: "/a/b"},
		{in: "id=tok,source=/a/b", id: "tok", src: "/a/b"},
		{in: "src=/a/b", id: "b", src: "/a/b"},
		{in: "id=tok,env=VAR", id: "tok", env: "VAR"},
		{in: "type=env,id=tok,src=VAR", id: "tok", env: "VAR"},
		{in: "id=tok", id: "tok"},
		{in: "id=tok,nosuch=1", err: "unexpected key 'nosuch' in 'nosuch=1'"},
		{in: "id=tok,src", err: "invalid field 'src' must be a key=value pair"},
		{in: "type=ssh,id=tok", err: `unsupported secret type "ssh"`},
		{in: "type=file", err: `invalid secret "type=file": id required`},
	} {
		id, src, env, err := parseSecret(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseSecret(%q) = %v, want error %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || id != tt.id || src != tt.src || env != tt.env {
			t.Errorf("parseSecret(%q) = %q %q %q %v, want %q %q %q", tt.in, id, src, env, err, tt.id, tt.src, tt.env)
		}
	}
}
