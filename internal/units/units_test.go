package units

import "testing"

func TestHumanSizeWithPrecision3(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 999: "999B", 1000: "1kB", 4261550: "4.26MB", 1982327: "1.98MB", 251e6: "251MB", 1.5e9: "1.5GB",
	} {
		if got := HumanSizeWithPrecision(n, 3); got != want {
			t.Errorf("HumanSizeWithPrecision(%d, 3) = %q, want %q", n, got, want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234: "1.234kB", 1234567: "1.235MB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestBytesSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0B", 1023: "1023B", 1024: "1KiB", 1536: "1.5KiB", 25200000000: "23.47GiB", 1 << 40: "1TiB",
	} {
		if got := BytesSize(n); got != want {
			t.Errorf("BytesSize(%v) = %q, want %q", n, got, want)
		}
	}
}
