package run

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestLastCap: the kernel's answer (PR_CAPBSET_READ) is what the host's
// /proc/sys/kernel/cap_last_cap says; lastCap no longer reads that file,
// which in a container is the container's to fake.
func TestLastCap(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		t.Skip(err)
	}
	want, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if got := lastCap(); got != want {
		t.Errorf("lastCap() = %d, the kernel's cap_last_cap is %d", got, want)
	}
}
