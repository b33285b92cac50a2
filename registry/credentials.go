package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credentials live where docker keeps them: $DOCKER_CONFIG/config.json or
// ~/.docker/config.json, read and written with docker's own config package,
// so the file (auths{server:{auth: base64}}, 0600, replaced by a rename) and
// the credential helpers (credsStore, credHelpers: docker-credential-<name>
// on PATH, its store/get/erase protocol) behave exactly as docker's. Pull
// and push read them through go-containerregistry's default keychain
// (remoteOptions, pushTransport), which loads the same file with the same
// package; login and logout below are the only writers.

// IndexServer is the key docker stores Docker Hub's credentials under.
const IndexServer = "https://index.docker.io/v1/"

// CredentialKey is the config.json key of a server as the user wrote it:
// docker's hostname without scheme or path, Docker Hub's IndexServer.
func CredentialKey(server string) string {
	if server == "" || server == IndexServer || server == dockerHub || server == "index.docker.io" {
		return IndexServer
	}
	return credentials.ConvertToHostname(server)
}

// StoredCredentials returns the username and password kept for a server
// (empty when none), through its credential helper when one is set.
func StoredCredentials(server string) (user, password string, err error) {
	cf, err := loadConfig()
	if err != nil {
		return "", "", err
	}
	key := CredentialKey(server)
	ac, err := cf.GetCredentialsStore(key).Get(key)
	if err != nil {
		return "", "", fmt.Errorf("read credentials for %s: %w", key, err)
	}
	return ac.Username, ac.Password, nil
}

// StoreCredentials saves a login for server. The plain file store prints
// docker's warning that the password is kept unencrypted.
func StoreCredentials(server, user, password string) error {
	cf, err := loadConfig()
	if err != nil {
		return err
	}
	key := CredentialKey(server)
	ac := types.AuthConfig{Username: user, Password: password, ServerAddress: key}
	if err := cf.GetCredentialsStore(key).Store(ac); err != nil {
		return fmt.Errorf("error saving credentials: %w", err)
	}
	return nil
}

// EraseCredentials removes what login stored for server, under every key
// docker may have used for it (hostname, with and without a scheme). It
// fails only if no store could be asked.
func EraseCredentials(server string) error {
	cf, err := loadConfig()
	if err != nil {
		return err
	}
	keys := []string{CredentialKey(server)}
	if keys[0] != IndexServer {
		if server != keys[0] {
			keys = append(keys, server)
		}
		keys = append(keys, "http://"+keys[0], "https://"+keys[0])
	}
	var errs []error
	for _, k := range keys {
		if err := cf.GetCredentialsStore(k).Erase(k); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	if len(errs) == len(keys) {
		return fmt.Errorf("could not erase credentials: %w", errors.Join(errs...))
	}
	return nil
}

// ConfigFile is the path login writes, for messages.
func ConfigFile() string { return config.Dir() + "/" + config.ConfigFileName }

func loadConfig() (*configfile.ConfigFile, error) {
	cf, err := config.Load(config.Dir())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", ConfigFile(), err)
	}
	return cf, nil
}

// CheckLogin asks server whether user and password are good: the auth
// handshake (a token for a token server, basic auth otherwise) and then
// GET /v2/, which must answer 200, as docker's client-side login. A refusal
// is docker's "unauthorized: ..." line.
func CheckLogin(ctx context.Context, server, user, password string, insecure []string) error {
	host := CredentialKey(server)
	if host == IndexServer {
		host = name.DefaultRegistry
	}
	var opts []name.Option
	if insecureAllowed(host, insecure) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	base := httpsOnly{base: remote.DefaultTransport, insecure: insecure}
	t, err := transport.NewWithContext(ctx, reg, auth, base, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return loginError(host, err)
	}
	// The transport rewrites the scheme to what the handshake found.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: t}).Do(req)
	if err != nil {
		return loginError(host, err)
	}
	defer resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return loginError(host, err)
	}
	return nil
}

// loginError is docker's wording for a refused login: "unauthorized: " and
// the registry's own reason.
func loginError(host string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return unauthorized(te)
	}
	return explain(host, err)
}

// unauthorized is docker's line for a registry's 401: "unauthorized: " and
// the registry's message.
func unauthorized(te *transport.Error) error {
	msg := "authentication required" // a HEAD's 401 has no body to say more
	for _, d := range te.Errors {
		if d.Message != "" {
			msg = d.Message
			break
		}
	}
	return fmt.Errorf("unauthorized: %s", msg)
}
