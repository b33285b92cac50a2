package userns

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Subordinate is what /etc/subuid and /etc/subgid grant one user, and the
// files it was read from (the checks and warnings name them).
type Subordinate struct {
	User  User
	Files Files
	UIDs  []Range
	GIDs  []Range
}

// Read reads the ranges files grant u.
func Read(u User, files Files) (Subordinate, error) {
	uids, err := ReadRanges(files.SubUID, u)
	if err != nil {
		return Subordinate{}, err
	}
	gids, err := ReadRanges(files.SubGID, u)
	if err != nil {
		return Subordinate{}, err
	}
	return Subordinate{User: u, Files: files, UIDs: uids, GIDs: gids}, nil
}

// Mapping is a user namespace's maps: container ids to host ids, as
// config.json's linux.uidMappings and gidMappings spell them. User is the
// host user whose namespace it is: its own ids are the container's root.
type Mapping struct {
	User User
	UIDs []specs.LinuxIDMapping
	GIDs []specs.LinuxIDMapping
}

// Mapping is the mapping podman makes: the user's own id to 0, then each
// range in the file's order to the next container ids, 1 up to the total.
// Without ranges a kind gets the single-id mapping (the user's id to 0
// only), which an unprivileged process may write itself.
func (s Subordinate) Mapping() Mapping {
	return Mapping{
		User: s.User,
		UIDs: idMappings(s.User.UID, s.UIDs),
		GIDs: idMappings(s.User.GID, s.GIDs),
	}
}

func idMappings(own uint32, ranges []Range) []specs.LinuxIDMapping {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: own, Size: 1}}
	next := uint32(1)
	for _, r := range ranges {
		size := min(r.Count, maxID-next) // the container side ends at the id space's end too
		if size == 0 {
			break
		}
		maps = append(maps, specs.LinuxIDMapping{ContainerID: next, HostID: r.Start, Size: size})
		next += size
	}
	return maps
}

// Single reports whether maps is the single-id mapping: one id, no
// subordinate range.
func Single(maps []specs.LinuxIDMapping) bool {
	return len(maps) == 1 && maps[0].Size == 1
}

// HostID is the host id that container id id maps to (a `-v :U` chown, an
// extracted file's owner); false when id is not mapped.
func HostID(maps []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && id-m.ContainerID < m.Size {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}

// ContainerID is the container id that host id id appears as inside; false
// when it is not mapped (the kernel shows it as the overflow id, 65534).
func ContainerID(maps []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.HostID && id-m.HostID < m.Size {
			return m.ContainerID + (id - m.HostID), true
		}
	}
	return 0, false
}

// MaxID is the highest container id maps maps: every id from 0 to it is
// mapped in a Mapping made by Subordinate.Mapping.
func MaxID(maps []specs.LinuxIDMapping) uint32 {
	var top uint32
	for _, m := range maps {
		if m.Size > 0 {
			top = max(top, m.ContainerID+m.Size-1)
		}
	}
	return top
}

// mapLines is maps as /proc/PID/uid_map and newuidmap's arguments take
// them: container id, host id, size.
func mapLines(maps []specs.LinuxIDMapping) []string {
	args := make([]string, 0, 3*len(maps))
	for _, m := range maps {
		args = append(args, fmt.Sprint(m.ContainerID), fmt.Sprint(m.HostID), fmt.Sprint(m.Size))
	}
	return args
}
