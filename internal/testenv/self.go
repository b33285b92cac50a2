package testenv

import (
	"debug/elf"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Test is what the helpers need of a *testing.T (testenv does not import
// testing: the benchmark and the demo link it).
type Test interface {
	Helper()
	Skip(args ...any)
	Fatal(args ...any)
}

// NeedStaticSelf skips t unless the test binary is statically linked: only
// then can it run inside a container (as an init or exec's process), where
// the host's ld.so is not. `make unit` builds with CGO_ENABLED=0.
func NeedStaticSelf(t Test) {
	t.Helper()
	if static, err := selfIsStatic(); err != nil {
		t.Fatal(err)
	} else if !static {
		t.Skip("the test binary is dynamically linked: run with CGO_ENABLED=0")
	}
}

func selfIsStatic() (bool, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// OpenPty opens a new pty from /dev/ptmx: its master and its slave, both
// close-on-exec and neither becoming our controlling terminal.
func OpenPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}
