package units

import "fmt"

var (
	decimalUnits = []string{"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	binaryUnits  = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
)

// HumanSize is docker's units.HumanSize: decimal units, 4 significant
// digits ("1.234MB"), as in pull progress and prune's reclaimed space.
func HumanSize(n int64) string { return HumanSizeWithPrecision(n, 4) }

// HumanSizeWithPrecision is a decimal size with that many significant
// digits: docker's images and ps SIZE columns use 3 ("4.26MB").
func HumanSizeWithPrecision(n int64, digits int) string {
	f, unit := scale(float64(n), 1000, decimalUnits)
	return fmt.Sprintf("%.*g%s", digits, f, unit)
}

// BytesSize is docker's units.BytesSize: binary units, 4 significant
// digits ("23.47GiB"), as info's Total Memory.
func BytesSize(n int64) string {
	f, unit := scale(float64(n), 1024, binaryUnits)
	return fmt.Sprintf("%.4g%s", f, unit)
}

// scale divides n by base until it is below base or the units run out.
func scale(n, base float64, units []string) (float64, string) {
	i := 0
	for n >= base && i < len(units)-1 {
		n /= base
		i++
	}
	return n, units[i]
}
