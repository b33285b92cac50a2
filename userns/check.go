package userns

// The checks a rootless start makes before anything starts (before a
// pull): the issue wants problems with the ranges "detected before a pull
// starts and named clearly", rather than podman's "potentially insufficient
// UIDs or GIDs available in user namespace" after a layer's lchown failed
// (podman#12715). What the kernel or newuidmap would refuse is an error;
// what will run but break some images is a warning.

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// usualCount is the size of range useradd gives (login.defs' SUB_UID_COUNT)
// and of the id space most images stay within (0 to 65535).
const usualCount = 65536

// maxMapLines is how many lines the kernel takes in a uid_map or gid_map
// (Linux 4.15 and later).
const maxMapLines = 340

// kind is uids or gids: the words, file and helper of one of them.
type kind struct {
	id      string // "uid" or "gid"
	file    func(Files) string
	helper  string // newuidmap or newgidmap
	capBit  int    // the capability the helper needs: CAP_SETUID or CAP_SETGID
	flag    string // usermod's flag that adds a range
	mapFile string // /proc/PID/<mapFile>
}

var (
	uidKind = &kind{"uid", func(f Files) string { return f.SubUID }, "newuidmap", unix.CAP_SETUID, "--add-subuids", "uid_map"}
	gidKind = &kind{"gid", func(f Files) string { return f.SubGID }, "newgidmap", unix.CAP_SETGID, "--add-subgids", "gid_map"}
)

// Preflight checks s before a rootless start: the ranges (none overlapping
// the user's own id or another range, no more than the kernel's 340 map
// lines) and, for each kind with ranges, its helper (found, and setuid root
// or with the file capability it needs). The error names the first
// problem; warnings are one line each, for what will start but break some
// images (no ranges: the single-id mapping; a range smaller than 65536).
func Preflight(s Subordinate, h Helpers) (warnings []string, err error) {
	for _, k := range []*kind{uidKind, gidKind} {
		own, ranges := s.own(k), s.ranges(k)
		if err := checkRanges(s, k, own, ranges); err != nil {
			return nil, err
		}
		if len(ranges) == 0 {
			continue
		}
		if _, err := h.find(k); err != nil {
			return nil, err
		}
		if total := rangesTotal(ranges); total < usualCount {
			warnings = append(warnings, fmt.Sprintf("user %q has %d subordinate %ss in %s, fewer than the usual %d: images with files owned by %s %d or above will not work; add more with \"usermod %s FIRST-LAST %s\" as root",
				s.User, total, k.id, k.file(s.Files), usualCount, k.id, total+1, k.flag, s.User))
		}
	}
	if w := singleWarning(s); w != "" {
		warnings = append([]string{w}, warnings...)
	}
	return warnings, nil
}

func (s Subordinate) own(k *kind) uint32 {
	if k == uidKind {
		return s.User.UID
	}
	return s.User.GID
}

func (s Subordinate) ranges(k *kind) []Range {
	if k == uidKind {
		return s.UIDs
	}
	return s.GIDs
}

func rangesTotal(ranges []Range) uint64 {
	var total uint64
	for _, r := range ranges {
		total += uint64(r.Count)
	}
	return total
}

// checkRanges refuses what the kernel would refuse in the map: a host id
// mapped twice (a range over the user's own id, which is already the
// container's root, or two ranges that overlap) and too many lines.
func checkRanges(s Subordinate, k *kind, own uint32, ranges []Range) error {
	file := k.file(s.Files)
	for i, r := range ranges {
		if own >= r.Start && own <= r.Last() {
			return fmt.Errorf("the subordinate %ss %s of user %q in %s include the user's own %s %d, which is mapped to root: remove that range from %s",
				k.id, r, s.User, file, k.id, own, file)
		}
		for _, o := range ranges[:i] {
			if r.Start <= o.Last() && o.Start <= r.Last() {
				return fmt.Errorf("the subordinate %ss %s and %s of user %q in %s overlap: the kernel maps a host %s once; remove or shrink one in %s",
					k.id, o, r, s.User, file, k.id, file)
			}
		}
	}
	if len(ranges)+1 > maxMapLines {
		return fmt.Errorf("user %q has %d subordinate %s ranges in %s; a user namespace takes at most %d: merge them",
			s.User, len(ranges), k.id, file, maxMapLines-1)
	}
	return nil
}

// singleWarning is the one line said when a kind has no ranges: the
// single-id mapping leaves every other id unmapped.
func singleWarning(s Subordinate) string {
	var files []string
	var flags string
	for _, k := range []*kind{uidKind, gidKind} {
		if len(s.ranges(k)) == 0 {
			files = append(files, k.file(s.Files))
			flags += fmt.Sprintf(" %s %s", k.flag, suggestRange(s.Files, k))
		}
	}
	if len(files) == 0 {
		return ""
	}
	what := files[0]
	if len(files) == 2 {
		what = files[0] + " and " + files[1]
	}
	return fmt.Sprintf("user %q has no subordinate ids in %s: using a single-id user namespace (only the user's own ids, as root), so images with files owned by other ids will not work; add ranges as root with \"usermod%s %s\" or by editing %s",
		s.User, what, flags, s.User, what)
}

// suggestRange is a range of usualCount ids from login.defs' usual
// SUB_UID_MIN (100000) that no line of k's file gives anyone, as usermod's
// FIRST-LAST: a suggestion that will not clash with another user's.
func suggestRange(files Files, k *kind) Range {
	taken := allRanges(k.file(files))
	slices.SortFunc(taken, func(a, b Range) int { return cmp.Compare(a.Start, b.Start) })
	start := uint64(100000)
	for _, t := range taken {
		if start+usualCount <= uint64(t.Start) {
			break
		}
		start = max(start, uint64(t.Last())+1)
	}
	return Range{Start: uint32(start), Count: usualCount}
}

// allRanges is every valid line of path, whoever it names.
func allRanges(path string) []Range {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var all []Range
	for _, line := range strings.Split(string(data), "\n") {
		if _, r, ok := parseLine(line); ok {
			all = append(all, r)
		}
	}
	return all
}

// InsufficientIDsError is an image needing a container id its user
// namespace does not map: said before a pull or an extraction, where
// podman says "potentially insufficient UIDs or GIDs available in user
// namespace" after a failed lchown.
type InsufficientIDsError struct {
	Kind   string // "uid" or "gid"
	Needed uint32 // the highest id the image uses
	Mapped uint32 // the highest container id mapped
	User   string
	File   string
}

func (e *InsufficientIDsError) Error() string {
	return fmt.Sprintf("the image uses %s %d but the user namespace of user %q maps %ss 0 to %d only: add at least %d subordinate %ss to %s (\"usermod --add-sub%ss FIRST-LAST %s\" as root)",
		e.Kind, e.Needed, e.User, e.Kind, e.Mapped, uint64(e.Needed)-uint64(e.Mapped), e.Kind, e.File, e.Kind, e.User)
}

// CheckImage checks that m maps every id up to maxUID and maxGID, the
// highest ids an image uses (its files' owners, its config's user): the
// container side of m is contiguous from 0, so that is enough. files names
// where more ranges go. The error (an *InsufficientIDsError) names the uids
// when both fall short: one line, and the gids' fix is the same.
func (m Mapping) CheckImage(maxUID, maxGID uint32, files Files) error {
	for _, c := range []struct {
		k      *kind
		maps   []specs.LinuxIDMapping
		needed uint32
	}{{uidKind, m.UIDs, maxUID}, {gidKind, m.GIDs, maxGID}} {
		if top := MaxID(c.maps); c.needed > top {
			return &InsufficientIDsError{Kind: c.k.id, Needed: c.needed, Mapped: top, User: m.User.String(), File: c.k.file(files)}
		}
	}
	return nil
}
