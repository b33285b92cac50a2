package build

// The cache key part of COPY/ADD sources: what ends up in the layer
// (names, content, mode, owner, link targets), never mtime, so a touched
// or re-checked-out file still hits the cache, as docker's content sums.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Checksum is the cache key part of srcs: content, mode, owner and link
// target of each, not mtime.
func (c *Context) Checksum(srcs []Source) (string, error) {
	h := sha256.New()
	for _, s := range srcs {
		if err := c.sumOne(h, s); err != nil {
			return "", err
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// sumOne writes one source's record: its names and metadata on one
// length-prefixed line, then its content's own sum for a regular file
// or its target for a symlink.
func (c *Context) sumOne(h hash.Hash, s Source) error {
	mode := s.Info.Mode()
	var uid, gid uint32
	var rdev uint64
	if st, ok := s.Info.Sys().(*syscall.Stat_t); ok {
		uid, gid, rdev = st.Uid, st.Gid, uint64(st.Rdev)
	}
	fmt.Fprintf(h, "%d:%s\x00%d:%s\x00%o %d %d %d\x00", len(s.Root), s.Root, len(s.Rel), s.Rel, uint32(mode), uid, gid, rdev)
	switch {
	case mode.IsRegular():
		sum, err := c.fileSum(s.Rel)
		if err != nil {
			return err
		}
		h.Write(sum)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(c.hostPath(s.Rel))
		if err != nil {
			return fmt.Errorf("checksum of %s: %w", s.Rel, err)
		}
		fmt.Fprintf(h, "%d:%s", len(target), target)
	}
	return nil
}

// fileSum is the sha256 of a regular file's content, read inside the
// context.
func (c *Context) fileSum(rel string) ([]byte, error) {
	f, err := c.Open(rel)
	if err != nil {
		return nil, fmt.Errorf("checksum of %s: %w", rel, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("checksum of %s: %w", rel, err)
	}
	return h.Sum(nil), nil
}
