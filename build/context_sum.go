package build

// The cache key part of COPY/ADD sources: what ends up in the layer
// (names, content, mode, owner, link targets), never mtime, so a touched
// or re-checked-out file still hits the cache, as docker's content sums.
//
// Reading every file is most of a cache hit's cost (a COPY of 2,000
// files), so regular files are summed by a few workers, and a SumCache
// (when the caller keeps one) skips files whose stat says they did not
// change.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"syscall"

	"github.com/skiff-dev/skiff/rootfs"
	"golang.org/x/sys/unix"
)

// Checksum is the cache key part of srcs: content, mode, owner and link
// target of each, not mtime.
func (c *Context) Checksum(srcs []Source) (string, error) {
	sums, err := c.fileSums(srcs)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for i, s := range srcs {
		mode := s.Info.Mode()
		var uid, gid uint32
		var rdev uint64
		if st, ok := s.Info.Sys().(*syscall.Stat_t); ok {
			uid, gid, rdev = st.Uid, st.Gid, uint64(st.Rdev)
		}
		fmt.Fprintf(h, "%d:%s\x00%d:%s\x00%o %d %d %d\x00", len(s.Root), s.Root, len(s.Rel), s.Rel, uint32(mode), uid, gid, rdev)
		switch {
		case mode.IsRegular():
			h.Write(sums[i][:])
		case mode&fs.ModeSymlink != 0:
			target, err := os.Readlink(c.hostPath(s.Rel))
			if err != nil {
				return "", fmt.Errorf("checksum of %s: %w", s.Rel, err)
			}
			fmt.Fprintf(h, "%d:%s", len(target), target)
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// fileSums is the content sum of each regular file of srcs (zero for the
// others), computed by up to GOMAXPROCS workers.
func (c *Context) fileSums(srcs []Source) ([][sha256.Size]byte, error) {
	sums := make([][sha256.Size]byte, len(srcs))
	work := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), 4); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			for i := range work {
				if err := c.fileSum(srcs[i], buf, &sums[i]); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i, s := range srcs {
		if s.Info.Mode().IsRegular() {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
		return sums, nil
	}
}

// fileSum is the sha256 of a regular file's content, read inside the
// context (or remembered by the SumCache for an unchanged stat).
func (c *Context) fileSum(s Source, buf []byte, sum *[sha256.Size]byte) error {
	key, cacheable := sumKeyOf(s.Info)
	if cacheable && c.Sums.get(key, sum) {
		return nil
	}
	// The entry Lstat saw as a regular file, not a link or FIFO swapped
	// in since (a FIFO would block, a device never end).
	fd, err := rootfs.InRoot(c.rootfd, s.Rel, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK)
	if err != nil {
		return fmt.Errorf("checksum of %s: %w", s.Rel, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("checksum of %s: changed while the build read it", s.Rel)
	}
	h := sha256.New()
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("checksum of %s: %w", s.Rel, err)
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
	}
	h.Sum(sum[:0])
	if cacheable {
		c.Sums.put(key, *sum)
	}
	return nil
}
