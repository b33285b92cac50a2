package userns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// Files are where the subordinate ids are read from: parameters so that
// tests can give their own.
type Files struct {
	SubUID, SubGID string
}

// SystemFiles are shadow's files, the ones newuidmap and newgidmap read.
var SystemFiles = Files{SubUID: "/etc/subuid", SubGID: "/etc/subgid"}

// User is the host user a rootless skiff runs as: its name and numeric uid
// select its lines of /etc/subuid and /etc/subgid (both files are keyed by
// the user, not the group), and its own uid and gid become the container's
// root.
type User struct {
	Name     string
	UID, GID uint32
}

// String is the user's name, or its uid when it has none (a user known by
// NSS alone, see Current).
func (u User) String() string {
	if u.Name != "" {
		return u.Name
	}
	return strconv.FormatUint(uint64(u.UID), 10)
}

// Current is the user this process runs as: its effective ids (a
// single-id map must name the writer's own), and its name where the
// passwd file has one. A static skiff reads /etc/passwd only (Go's
// os/user without cgo), so a user known by NSS alone (LDAP, SSSD) has no
// name here and only lines naming its numeric uid are found; newuidmap,
// which asks NSS, would find lines by name too.
func Current() User {
	u := User{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
	if pw, err := user.LookupId(strconv.FormatUint(uint64(u.UID), 10)); err == nil {
		u.Name = pw.Username
	}
	return u
}

// Range is one line of /etc/subuid or /etc/subgid: Count host ids from
// Start.
type Range struct {
	Start, Count uint32
}

// Last is the range's last host id.
func (r Range) Last() uint32 { return r.Start + r.Count - 1 }

// String is the range as usermod's --add-subuids takes it: FIRST-LAST.
func (r Range) String() string { return fmt.Sprintf("%d-%d", r.Start, r.Last()) }

// ReadRanges returns the ranges path grants u, in the file's order. A line
// is shadow's `owner:start:count`, its owner u's name or u's uid in
// decimal; the numbers are C's strtoul with base 0 (decimal, 0x hex, 0
// octal). Lines shadow refuses are skipped as newuidmap skips them: not
// three fields, an empty owner, a number that is not one, a range beyond
// the 32-bit id space. So is a comment (it names no user) and a range of
// no ids, which grants nothing and which the kernel would refuse in a map.
// A missing file grants nothing, as for shadow.
func ReadRanges(path string, u User) ([]Range, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading subordinate ids: %w", err)
	}
	return parseRanges(string(data), u), nil
}

// parseRanges is the ranges of data's lines that name u.
func parseRanges(data string, u User) []Range {
	uid := strconv.FormatUint(uint64(u.UID), 10)
	var ranges []Range
	for _, line := range strings.Split(data, "\n") {
		owner, r, ok := parseLine(line)
		if ok && (owner == u.Name || owner == uid) {
			ranges = append(ranges, r)
		}
	}
	return ranges
}

// parseLine parses `owner:start:count` as shadow's sgetsient does:
// exactly three fields, a non-empty owner, start a valid id and the range
// inside the 32-bit id space; and refuses a range of no ids. Only "\n"
// ends a line, as for shadow: a "\r" before it spoils the count.
func parseLine(line string) (owner string, r Range, ok bool) {
	fields := strings.Split(line, ":")
	if len(fields) != 3 || fields[0] == "" {
		return "", Range{}, false
	}
	start, ok1 := parseUlong(fields[1])
	count, ok2 := parseUlong(fields[2])
	if !ok1 || !ok2 || start > maxID || count > maxID+1-start || count > maxID || count == 0 {
		return "", Range{}, false
	}
	return fields[0], Range{Start: uint32(start), Count: uint32(count)}, true
}

// maxID is the largest value an id_t holds (shadow's bound for a range).
const maxID = 1<<32 - 1

// parseUlong reads a number as strtoul(s, &end, 0) does with the whole
// string consumed: 0x or 0X for hex, a leading 0 for octal, else decimal.
// Unlike strtoul it takes no sign or blanks, which no valid line has.
func parseUlong(s string) (uint64, bool) {
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil
}
