package run

import (
	"maps"
	"slices"

	"github.com/skiff-dev/skiff/rootfs"
)

// writeSysctls sets the container's --sysctl values in its own
// namespaces (spec.Build checked each key belongs to one it has), in key
// order, through rootfs.WriteProcSys.
func writeSysctls(sysctls map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(sysctls)) {
		if err := rootfs.WriteProcSys(k, sysctls[k]); err != nil {
			return err
		}
	}
	return nil
}
