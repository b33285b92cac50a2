package seccomp

import "testing"

// TestTablesShareNewCalls holds the x86 tables to the kernel's unified
// numbering: every call added since Linux 5.1 (number 424 and up) has the
// same number on every architecture, x32 adding its bit. A table generated
// from headers older than the others (Debian 12's stop at 450, while
// docker's profile names calls up to 466) fails here: it lowers the ENOSYS
// stub's threshold, and calls docker allows then answer ENOSYS.
func TestTablesShareNewCalls(t *testing.T) {
	const unified = 424
	// The one exception: memfd_secret is not wired up on 32-bit arm.
	absent := map[[2]string]bool{{"SCMP_ARCH_ARM", "memfd_secret"}: true}
	ref := abiByName("SCMP_ARCH_AARCH64")
	n := 0
	for _, s := range ref.table {
		if s.nr < unified {
			continue
		}
		n++
		for _, a := range []struct {
			name string
			bit  uint32
		}{{"SCMP_ARCH_X86_64", 0}, {"SCMP_ARCH_X86", 0}, {"SCMP_ARCH_X32", 0x40000000}, {"SCMP_ARCH_ARM", 0}} {
			if absent[[2]string{a.name, s.name}] {
				continue
			}
			if nr, ok := abiByName(a.name).lookup(s.name); !ok || nr != a.bit+s.nr {
				t.Errorf("%s: %s is %d (known %v), want %d as on aarch64", a.name, s.name, nr, ok, a.bit+s.nr)
			}
		}
	}
	if n < 40 {
		t.Fatalf("aarch64's table has only %d calls from %d up: regenerate it", n, unified)
	}
}
