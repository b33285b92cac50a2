package monitor

import "strings"

// Prestart is what the monitor needs to start a container's init before
// the container's record exists: its stdio. run's CLI knows it from its
// flags (-t, -i) when it spawns the monitor, before it resolves the image,
// so the init's start-up overlaps the CLI's work instead of following it.
type Prestart struct{ Tty, OpenStdin bool }

const prestartPrefix = "prestart="

// arg is p as the monitor's last argument: prestart= then t and/or i.
func (p Prestart) arg() string {
	a := prestartPrefix
	if p.Tty {
		a += "t"
	}
	if p.OpenStdin {
		a += "i"
	}
	return a
}

// ParsePrestart reads a monitor argument made by arg; false if a is not one.
func ParsePrestart(a string) (Prestart, bool) {
	flags, ok := strings.CutPrefix(a, prestartPrefix)
	if !ok || strings.Trim(flags, "ti") != "" {
		return Prestart{}, false
	}
	return Prestart{Tty: strings.Contains(flags, "t"), OpenStdin: strings.Contains(flags, "i")}, true
}
