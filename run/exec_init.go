package run

// ExecArg is the hidden first argument with which `skiff exec` starts
// skiff inside a running container's namespaces; main dispatches it before
// the CLI is built, as InitArg.
const ExecArg = "__skiff_exec"

// ExecInit is the container side of `skiff exec`: it never returns.
func ExecInit() { execInContainer() }
