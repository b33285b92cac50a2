package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// RegistryBinary is Debian's docker-registry (package docker-registry).
var RegistryBinary = "/usr/bin/docker-registry"

// Registry is a docker-registry process serving plain http on loopback.
type Registry struct {
	Addr string // 127.0.0.1:port
	Dir  string // storage root: blobs live under Dir/docker/registry/v2/blobs
	Log  string // the registry's stderr/stdout

	cmd  *exec.Cmd
	cfg  string
	done chan error
}

// registryConfig keeps the registry quiet, unauthenticated and deletable, with
// storage under dir so each caller gets a private, disposable registry.
const registryConfig = `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`

// StartRegistry starts docker-registry with filesystem storage under dir on a
// free loopback port and returns once /v2/ answers.
func StartRegistry(dir string) (*Registry, error) { return StartRegistryWith(dir, "") }

// StartRegistryWith is StartRegistry with more top-level config sections
// (YAML), such as an `auth:` one.
func StartRegistryWith(dir, extra string) (*Registry, error) {
	if _, err := os.Stat(RegistryBinary); err != nil {
		return nil, fmt.Errorf("start registry: %w (apt-get install docker-registry)", err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	storage := filepath.Join(dir, "storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(registryConfig, storage, addr)+extra), 0o644); err != nil {
		return nil, fmt.Errorf("start registry: %w", err)
	}
	r := &Registry{Addr: addr, Dir: storage, Log: filepath.Join(dir, "registry.log"), cfg: cfg}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// Restart starts a closed registry again on its address and storage.
func (r *Registry) Restart() error { return r.start() }

func (r *Registry) start() error {
	r.done = make(chan error, 1)
	addr := r.Addr
	logf, err := os.OpenFile(r.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	defer logf.Close()
	r.cmd = exec.Command(RegistryBinary, "serve", r.cfg)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	// Its own process group, so a test's ^C reaches it only through Close.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start registry: %w", err)
	}
	cmd := r.cmd
	go func() { r.done <- cmd.Wait() }()
	if err := r.waitReady(15 * time.Second); err != nil {
		r.Close()
		log, _ := os.ReadFile(r.Log)
		return fmt.Errorf("start registry on %s: %w; log: %s", addr, err, log)
	}
	return nil
}

func (r *Registry) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-r.done:
			r.done <- err
			return fmt.Errorf("registry exited: %v", err)
		default:
		}
		resp, err := c.Get("http://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			// 401: up, and asking for the credentials its auth section wants.
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("/v2/ did not answer in time")
}

// Close kills the registry by its PID and waits for it.
func (r *Registry) Close() error {
	if r == nil || r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	_ = r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		return fmt.Errorf("registry pid %d did not exit after SIGKILL", r.cmd.Process.Pid)
	}
	r.cmd = nil
	return nil
}

// BlobPath is where the registry stores the blob with the given digest
// ("sha256:<hex>"); tests tamper with it to serve corrupt content.
func (r *Registry) BlobPath(digest string) string {
	algo, hex := "sha256", digest
	if i := len("sha256:"); len(digest) > i && digest[:i] == "sha256:" {
		hex = digest[i:]
	}
	return filepath.Join(r.Dir, "docker", "registry", "v2", "blobs", algo, hex[:2], hex, "data")
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
