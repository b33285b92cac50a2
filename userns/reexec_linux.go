package userns

import "errors"

// StubArg is the hidden first argument of the stub Reexec starts in the new
// namespaces (dispatched by package roles): it waits until its maps are
// written, then executes the real program, which gets its capabilities in
// the namespace at that execve.
const StubArg = "__skiff_userns"

// Reexec runs self with args (args[0] included) again in a new user and
// mount namespace mapped by m, with EnvVar set, stdio and process group
// shared, and returns its exit status. stub is the program that carries
// StubMain (skiff-roles, or self). Signals a caller sends by pid are
// passed on; those a terminal sends reach both processes already.
func Reexec(stub, self string, args []string, m Mapping) (int, error) {
	return 125, errors.New("userns.Reexec: not implemented yet")
}

// StubMain is the stub's body (args is os.Args): it never returns.
func StubMain(args []string) {
	panic("userns.StubMain: not implemented yet")
}
