package build

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBfrontSourcesChecksum is the cache check of a COPY of ~2,000
// files (make bench's build): walk and sum, the whole cost of a hit.
func BenchmarkBfrontSourcesChecksum(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 2000; i++ {
		p := filepath.Join(dir, "src", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, 2048), 0o644)
	}
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("**/*.tmp\n!keep.tmp\n"), 0o644)
	c, err := OpenContext(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.Run("sources", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.Sources([]string{"src"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	srcs, _ := c.Sources([]string{"src"})
	b.Run("checksum", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := c.Checksum(srcs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkBfrontChecksumSumCache(b *testing.B) {
	dir := b.TempDir()
	for i := 0; i < 2000; i++ {
		p := filepath.Join(dir, "src", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.txt", i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, make([]byte, 2048), 0o644)
	}
	time.Sleep(racyWindow) // ctimes old enough to be remembered
	c, err := OpenContext(dir, "")
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	c.Sums = NewSumCache()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		srcs, err := c.Sources([]string{"src"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Checksum(srcs); err != nil {
			b.Fatal(err)
		}
	}
}
