package run

// InitArg is the hidden first argument with which skiff re-execs itself as a
// container's init; main dispatches it before the CLI is built.
const InitArg = "__skiff_init"

// Init is the container side of the re-exec: it never returns.
func Init() { initContainer() }
