package registry

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestCredentialKey(t *testing.T) {
	for in, want := range map[string]string{
		"":                          IndexServer,
		"docker.io":                 IndexServer,
		"index.docker.io":           IndexServer,
		IndexServer:                 IndexServer,
		"127.0.0.1:5000":            "127.0.0.1:5000",
		"http://127.0.0.1:5000":     "127.0.0.1:5000",
		"https://reg.example/v2/":   "reg.example",
		"reg.example:443/some/path": "reg.example:443",
	} {
		if got := CredentialKey(in); got != want {
			t.Errorf("CredentialKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCredentialsFile: a login is written as docker writes it (auths,
// base64 user:password, 0600), read back, and erased by logout under any
// spelling of the server.
func TestCredentialsFile(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	if err := StoreCredentials("http://127.0.0.1:5000", "u", "p@ss"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.json")
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("config.json: %v, mode %v; want 0600", err, st.Mode())
	}
	var cfg struct {
		Auths map[string]map[string]any `json:"auths"`
	}
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	entry := cfg.Auths["127.0.0.1:5000"]
	if want := base64.StdEncoding.EncodeToString([]byte("u:p@ss")); entry["auth"] != want || len(entry) != 1 {
		t.Errorf("auths entry %v, want only auth %q (%s)", entry, want, b)
	}
	if u, p, err := StoredCredentials("127.0.0.1:5000"); err != nil || u != "u" || p != "p@ss" {
		t.Errorf("StoredCredentials = %q %q %v", u, p, err)
	}
	if err := EraseCredentials("https://127.0.0.1:5000/"); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := StoredCredentials("127.0.0.1:5000"); u != "" {
		t.Errorf("logout left user %q", u)
	}
}
