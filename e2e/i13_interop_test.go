package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// i13interopPodman is podman, installed by ../shared/peers/setup-peers.sh
// (beside the repository) when missing; "" and why when it cannot be had.
func i13interopPodman(t *testing.T) (string, string) {
	t.Helper()
	if p, err := exec.LookPath("podman"); err == nil {
		return p, ""
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "shared", "peers", "setup-peers.sh")
	if _, err := os.Stat(script); err != nil {
		return "", "podman is not installed and no setup-peers.sh is beside the repository to install it"
	}
	if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
		return "", fmt.Sprintf("installing podman with %s failed: %v: %s", script, err, lastLines(string(out), 3))
	}
	p, err := exec.LookPath("podman")
	if err != nil {
		return "", "setup-peers.sh ran but podman is still not on PATH"
	}
	return p, ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// An image skiff built runs under podman (issue 13): skiff's stored
// manifest, config and layer blobs, written as an OCI layout, are what
// podman pulls and runs, with the built command, env and files.
func TestI13InteropPodmanRunsBuiltImage(t *testing.T) {
	requireEnv(t)
	podman, why := i13interopPodman(t)
	if podman == "" {
		t.Skip(why)
	}
	st := newStore(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nENV GREETING=built-by-skiff\nWORKDIR /app\nCOPY msg.txt .\nRUN echo ran > /app/ran\nCMD [\"sh\", \"-c\", \"echo $GREETING; cat /app/msg.txt /app/ran; pwd\"]\n", fx.busybox),
		"msg.txt":    "hello from the context\n",
	})
	st.i12bexecBuild(t, "-t", "interop:v1", dir)
	vi := st.i12bexecStoredImage(t, "docker.io/library/interop:v1")
	// A private podman store, so the host's is neither used nor touched;
	// podman wants its run root under 50 characters, and makes a local
	// name of the layout's path (lower case only).
	pd, err := os.MkdirTemp("/tmp", "skiff-pm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(pd)
	oci := filepath.Join(pd, "oci")
	lp, err := layout.Write(oci, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(vi, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"})); err != nil {
		t.Fatal(err)
	}
	global := []string{"--root", filepath.Join(pd, "root"), "--runroot", filepath.Join(pd, "run"), "--storage-driver", "overlay"}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	defer exec.Command(podman, append(global, "system", "reset", "-f")...).Run()
	out, err := exec.CommandContext(ctx, podman, append(global, "run", "--rm", "--network", "none", "oci:"+oci+":v1")...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman run of skiff's image: %v\n%s", err, out)
	}
	if want := "built-by-skiff\nhello from the context\nran\n/app\n"; !strings.HasSuffix(string(out), want) {
		t.Errorf("podman ran skiff's image and printed:\n%s\nwant (at the end):\n%s", out, want)
	}
}
