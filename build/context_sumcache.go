package build

// A file's content sum remembered by its stat, so an all-cache rebuild
// does not read the context again (the idea of git's index and of
// BuildKit's content-hash cache). The key is what any change of the file
// changes: device, inode, size, mtime and ctime; ctime cannot be set back
// by a user, so `touch -d` restoring an mtime does not fool it. A sum
// taken while the file's ctime is recent is not remembered: a write in
// the same timestamp tick after the read would otherwise go unseen
// ("racy git").

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// SumCache remembers regular files' content sums by their stat. A nil
// *SumCache remembers nothing. Safe for concurrent use.
type SumCache struct {
	mu      sync.Mutex
	sums    map[sumKey]sumEntry
	changed bool
}

type sumKey struct {
	Dev, Ino     uint64
	Size         int64
	Mtime, Ctime int64 // ns
}

type sumEntry struct {
	sum  [sha256.Size]byte
	used bool // looked up or stored since load: kept first when the cache is full
}

// maxSums bounds the cache file (~72 bytes an entry).
const maxSums = 200_000

// racyWindow is how old a file's ctime must be for its sum to be kept.
var racyWindow = 2 * time.Second

// sumRecord is the on-disk size of one entry: the key's five integers
// and the sum.
const sumRecord = 5*8 + sha256.Size

// sumCacheMagic starts the file, with a version.
var sumCacheMagic = []byte("skiff-sums-v1\n")

// NewSumCache is an empty cache.
func NewSumCache() *SumCache { return &SumCache{sums: map[sumKey]sumEntry{}} }

// LoadSumCache reads a cache Save wrote; a missing or unreadable file is
// an empty cache (it only costs reading the files again).
func LoadSumCache(path string) *SumCache {
	c := NewSumCache()
	f, err := os.Open(path)
	if err != nil {
		return c
	}
	defer f.Close()
	r := bufio.NewReader(f)
	magic := make([]byte, len(sumCacheMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != string(sumCacheMagic) {
		return c
	}
	var rec [sumRecord]byte
	for len(c.sums) < maxSums {
		if _, err := io.ReadFull(r, rec[:]); err != nil {
			break
		}
		k := sumKey{
			Dev: binary.LittleEndian.Uint64(rec[0:]), Ino: binary.LittleEndian.Uint64(rec[8:]),
			Size: int64(binary.LittleEndian.Uint64(rec[16:])), Mtime: int64(binary.LittleEndian.Uint64(rec[24:])),
			Ctime: int64(binary.LittleEndian.Uint64(rec[32:])),
		}
		var e sumEntry
		copy(e.sum[:], rec[40:])
		c.sums[k] = e
	}
	return c
}

// Save writes the cache to path (a temp file renamed over it) if it
// changed since load, the entries used by this process first.
func (c *SumCache) Save(path string) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.changed {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sums-*")
	if err != nil {
		return fmt.Errorf("save content sums: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	w.Write(sumCacheMagic)
	n := 0
	for _, used := range []bool{true, false} {
		for k, e := range c.sums {
			if e.used != used || n >= maxSums {
				continue
			}
			var rec [sumRecord]byte
			binary.LittleEndian.PutUint64(rec[0:], k.Dev)
			binary.LittleEndian.PutUint64(rec[8:], k.Ino)
			binary.LittleEndian.PutUint64(rec[16:], uint64(k.Size))
			binary.LittleEndian.PutUint64(rec[24:], uint64(k.Mtime))
			binary.LittleEndian.PutUint64(rec[32:], uint64(k.Ctime))
			copy(rec[40:], e.sum[:])
			w.Write(rec[:])
			n++
		}
	}
	err = errors.Join(w.Flush(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("save content sums: %w", err)
	}
	c.changed = false
	return nil
}

func (c *SumCache) get(k sumKey, sum *[sha256.Size]byte) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.sums[k]
	if ok {
		*sum = e.sum
		if !e.used {
			e.used = true
			c.sums[k] = e
		}
	}
	return ok
}

func (c *SumCache) put(k sumKey, sum [sha256.Size]byte) {
	if c == nil || time.Since(time.Unix(0, k.Ctime)) < racyWindow || time.Since(time.Unix(0, k.Mtime)) < racyWindow {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sums[k] = sumEntry{sum: sum, used: true}
	c.changed = true
}

// sumKeyOf is a file's cache key from its Lstat; false when the stat
// does not carry one.
func sumKeyOf(info fs.FileInfo) (sumKey, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return sumKey{}, false
	}
	return sumKey{
		Dev: uint64(st.Dev), Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(),
	}, true
}
