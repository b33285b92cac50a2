package rootfs

import (
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteProcSys: a key is written in the calling thread's namespaces
// (a new network namespace here, the host's untouched); a key that is no
// sysctl name is refused before anything is opened.
func TestWriteProcSys(t *testing.T) {
	for _, key := range []string{"", "../../etc/hostname", "net/ipv4/ip_forward", "kernel..hostname"} {
		if err := WriteProcSys(key, "1"); err == nil {
			t.Errorf("WriteProcSys(%q) wrote", key)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	host, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Skip(err)
	}
	done := make(chan string)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with its namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- "unshare: " + err.Error()
			return
		}
		want := "1"
		if strings.TrimSpace(string(host)) == "1" {
			want = "0"
		}
		if err := WriteProcSys("net.ipv4.ip_forward", want); err != nil {
			done <- err.Error()
			return
		}
		got, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward") // this thread's namespace
		if strings.TrimSpace(string(got)) != want {
			done <- "read back " + string(got) + ", want " + want
			return
		}
		done <- ""
	}()
	if msg := <-done; msg != "" {
		t.Fatal(msg)
	}
	if after, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); string(after) != string(host) {
		t.Errorf("the host's ip_forward changed: %q -> %q", host, after)
	}
}
