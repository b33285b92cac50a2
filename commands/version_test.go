package commands

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestAnsicTime(t *testing.T) {
	tests := []struct{ in, want string }{
		{"2024-09-20T11:41:11Z", "Fri Sep 20 11:41:11 2024"},
		{"2024-09-20T13:41:11+02:00", "Fri Sep 20 13:41:11 2024"},
		{"", ""},
		{"yesterday", "yesterday"},
	}
	for _, tt := range tests {
		if got := ansicTime(tt.in); got != tt.want {
			t.Errorf("ansicTime(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A test binary carries no VCS stamp, so the link-time values are used.
func TestBuildStampFallsBackToLinkFlags(t *testing.T) {
	defer func(c, b string) { GitCommit, BuildTime = c, b }(GitCommit, BuildTime)
	GitCommit, BuildTime = "abc1234", "2024-09-20T11:41:11Z"
	if got := buildStamp(); got != (buildInfo{commit: "abc1234", time: "2024-09-20T11:41:11Z"}) {
		t.Errorf("buildStamp() = %+v", got)
	}
}

func testVersionDoc() versionDoc {
	return versionDoc{
		Client: clientVersion{Version: "v1", APIVersion: "1.47", DefaultAPIVersion: "1.47", GitCommit: "abc1234",
			GoVersion: "go1.22.7", Os: "linux", Arch: "amd64", BuildTime: "Fri Sep 20 11:41:11 2024", Context: "default"},
		Server: &serverVersion{Platform: platformInfo{Name: "skiff"}, Version: "v1", APIVersion: "1.47", MinAPIVersion: "1.24",
			Components: []componentVersion{{Name: "Engine", Version: "v1", Details: map[string]string{
				"ApiVersion": "1.47", "MinAPIVersion": "1.24", "GoVersion": "go1.22.7", "GitCommit": "abc1234",
				"BuildTime": "Fri Sep 20 11:41:11 2024", "Os": "linux", "Arch": "amd64", "Experimental": "false"}}}},
	}
}

func TestPrintVersion(t *testing.T) {
	var b bytes.Buffer
	if err := printVersion(&b, testVersionDoc()); err != nil {
		t.Fatal(err)
	}
	want := `Client:
 Version:           v1
 API version:       1.47
 Go version:        go1.22.7
 Git commit:        abc1234
 Built:             Fri Sep 20 11:41:11 2024
 OS/Arch:           linux/amd64
 Context:           default

Server: skiff
 Engine:
  Version:          v1
  API version:      1.47 (minimum version 1.24)
  Go version:       go1.22.7
  Git commit:       abc1234
  Built:            Fri Sep 20 11:41:11 2024
  OS/Arch:          linux/amd64
  Experimental:     false
`
	if got := b.String(); got != want {
		t.Errorf("printVersion:\n%s\nwant:\n%s", got, want)
	}
}

func TestVersionFormat(t *testing.T) {
	tests := []struct{ format, want string }{
		{"{{.Server.Version}}", "v1\n"},
		{"{{.Client.APIVersion}} {{.Server.APIVersion}}", "1.47 1.47\n"},
		{"{{.Client.Os}}/{{.Client.Arch}} {{.Client.Context}}", "linux/amd64 default\n"},
		{"{{range .Server.Components}}{{.Name}} {{index .Details \"MinAPIVersion\"}}{{end}}", "Engine 1.24\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printFormat(&b, tt.format, testVersionDoc()); err != nil {
			t.Fatalf("%s: %v", tt.format, err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: %q, want %q", tt.format, b.String(), tt.want)
		}
	}
}

func TestVersionJSONKeys(t *testing.T) {
	var b bytes.Buffer
	if err := printFormat(&b, "json", testVersionDoc()); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Client map[string]any
		Server map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Version", "ApiVersion", "DefaultAPIVersion", "GitCommit", "GoVersion", "Os", "Arch", "BuildTime", "Context"} {
		if _, ok := m.Client[k]; !ok {
			t.Errorf("Client lacks docker's key %q", k)
		}
	}
	for _, k := range []string{"Platform", "Components", "Version", "ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch"} {
		if _, ok := m.Server[k]; !ok {
			t.Errorf("Server lacks docker's key %q", k)
		}
	}
}
