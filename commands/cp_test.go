package commands

import "testing"

func TestSplitCpArg(t *testing.T) {
	for _, c := range []struct{ arg, ctr, path string }{
		{"web:/etc/hosts", "web", "/etc/hosts"},
		{"web:rel", "web", "rel"},
		{"/abs/a:b", "", "/abs/a:b"}, // absolute: always local
		{"./a:b", "", "./a:b"},       // a "/" before the ":": local
		{"-", "", "-"},               // stdin/stdout
		{"file", "", "file"},         // no ":"
		{"c:", "c", ""},              // empty path: the error comes later
	} {
		t.Run(c.arg, func(t *testing.T) {
			ctr, p := splitCpArg(c.arg)
			if ctr != c.ctr || p != c.path {
				t.Errorf("got (%q, %q), want (%q, %q)", ctr, p, c.ctr, c.path)
			}
		})
	}
}
