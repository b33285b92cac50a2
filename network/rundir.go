package network

import "path/filepath"

// RunDir is Config.RunDir under a run root: <runroot>/networks. The CLI
// (which makes the bridge) and the monitors (which attach to it) agree on
// it this way.
func RunDir(runRoot string) string { return filepath.Join(runRoot, "networks") }
