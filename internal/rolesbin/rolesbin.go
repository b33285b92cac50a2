package rolesbin

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
)

// Digest is the payload's sha256 in hex, set by make (-ldflags -X): the
// installed file's name, so that two builds never share one. Without it the
// payload is not used.
var Digest string

// Self is what a process re-executes when no skiff-roles is installed.
const Self = "/proc/self/exe"

// runRoot is SetRunRoot's; installed is Binary's answer, found once (a
// plain sync.Once: package-level work would run in every skiff process).
var (
	runRoot   string
	once      sync.Once
	installed string
)

// SetRunRoot says where Binary installs skiff-roles (config.Paths.RunRoot).
// A process that never calls it (the roles themselves) re-executes itself.
func SetRunRoot(dir string) { runRoot = dir }

// Binary is the program to execute for a role: the installed skiff-roles
// (installed on the first call), or Self.
func Binary() string {
	once.Do(func() { installed = install(runRoot, payload, Digest) })
	return installed
}

// install writes the payload to <dir>/roles/<digest> unless a good copy is
// there, and returns its path; Self without a payload, a run root or on any
// failure. The file appears by rename (complete, or not at all), is read
// and executed only, and is used only if it is ours: a regular file of the
// payload's size, owned by us, that nobody else may write.
func install(dir, payload, digest string) string {
	if payload == "" || len(digest) != 64 || dir == "" {
		return Self
	}
	rolesDir := filepath.Join(dir, "roles")
	p := filepath.Join(rolesDir, digest)
	if ours(p, len(payload)) {
		return p
	}
	if err := os.MkdirAll(rolesDir, 0o700); err != nil {
		return Self
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(rolesDir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o500)
	if err != nil {
		return Self
	}
	_, err = f.WriteString(payload)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return Self
	}
	if !ours(p, len(payload)) {
		return Self
	}
	removeOthers(rolesDir, digest)
	return p
}

// removeOthers removes the copies an older skiff installed (an upgrade
// leaves one, 4 MB of the run root's tmpfs each). A monitor running one
// keeps its inode, and starts its containers' processes from its own
// /proc/self/exe, so none of them needs the name any more.
func removeOthers(rolesDir, digest string) {
	ents, err := os.ReadDir(rolesDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); n != digest && len(n) == 64 {
			os.Remove(filepath.Join(rolesDir, n))
		}
	}
}

// ours reports whether p is a regular file of size bytes, owned by us,
// writable by nobody else.
func ours(p string, size int) bool {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(size) || fi.Mode().Perm()&0o022 != 0 {
		return false
	}
	return ownedByUs(fi)
}
