package main

import (
	"os"
	"testing"
)

func TestVmRSSAndParent(t *testing.T) {
	kb, err := vmRSS(os.Getpid())
	if err != nil || kb <= 0 || kb > 4<<20 {
		t.Errorf("vmRSS(self) = %d kB, %v; want a plausible size", kb, err)
	}
	if pp, err := parentOf(os.Getpid()); err != nil || pp != os.Getppid() {
		t.Errorf("parentOf(self) = %d, %v; want %d", pp, err, os.Getppid())
	}
	if _, err := vmRSS(-1); err == nil {
		t.Error("vmRSS of a pid that cannot exist: no error")
	}
}
