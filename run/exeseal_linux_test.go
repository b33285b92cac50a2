package run

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const sleepEnv = "SKIFF_TEST_SLEEP"

// TestMain lets the test binary double as the "sleeping child" whose
// /proc/<pid>/exe the attack goes through.
func TestMain(m *testing.M) {
	if os.Getenv(sleepEnv) == "1" {
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// attack plays CVE-2019-5736: hold /proc/<child>/exe open (O_PATH), let
// the child die, then reopen the binary for writing and write to it.
func attack(t *testing.T, exe string) error {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), sleepEnv+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	opath, err := unix.Open(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid), unix.O_PATH|unix.O_CLOEXEC, 0)
	cmd.Process.Kill()
	cmd.Wait()
	if err != nil {
		t.Fatalf("open /proc/pid/exe: %v", err)
	}
	defer unix.Close(opath)
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", opath), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt([]byte{0}, 0)
	return err
}

func TestExeSeal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("unsealed copy is overwritable", func(t *testing.T) {
		// Proves the attack works, so the sealed cases below mean something.
		cp := filepath.Join(t.TempDir(), "victim")
		copyFile(t, self, cp)
		if err := attack(t, cp); err != nil {
			t.Fatalf("attack on an unsealed binary failed (%v): the test proves nothing", err)
		}
	})
	for _, tc := range []struct {
		kind string
		seal func(string) (*sealedExe, error)
	}{{"bind", sealBind}, {"memfd", sealMemfd}} {
		t.Run(tc.kind, func(t *testing.T) {
			// Seal a copy that is not running, as skiff's binary is not once
			// the CLI exits: a running binary would answer ETXTBSY either way.
			bin := filepath.Join(t.TempDir(), "skiff")
			copyFile(t, self, bin)
			s, err := tc.seal(bin)
			if tc.kind == "bind" && errors.Is(err, unix.EPERM) {
				t.Skip("read-only bind needs CAP_SYS_ADMIN")
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			err = attack(t, s.path())
			if err == nil {
				t.Fatal("wrote to skiff's binary through /proc/<pid>/exe")
			}
			t.Logf("attack refused: %v", err)
			if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EPERM) {
				t.Fatalf("attack failed with %v, want EROFS or EPERM", err)
			}
		})
	}
	t.Run("sealSelf", func(t *testing.T) {
		s, err := sealSelf()
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if want := "bind"; os.Geteuid() == 0 && s.kind != want {
			t.Errorf("root got %s, want %s", s.kind, want)
		}
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
