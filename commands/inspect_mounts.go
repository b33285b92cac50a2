package commands

import (
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/state"
)

// mountPoint is docker's container.MountPoint: one entry of a container's
// inspect Mounts, what it has mounted beyond docker's defaults.
type mountPoint struct {
	Type        string `json:",omitempty"`
	Name        string `json:",omitempty"` // a volume's
	Source      string // a bind's host path, a volume's data dir, "" for a tmpfs
	Destination string
	Driver      string `json:",omitempty"` // a volume's: "local"
	Mode        string // the -v suffix as typed
	RW          bool
	Propagation string // a bind's
}

// mountSpec is docker's mount.Mount: one --mount flag in HostConfig.Mounts,
// as docker's CLI sent it.
type mountSpec struct {
	Type          string         `json:",omitempty"`
	Source        string         `json:",omitempty"`
	Target        string         `json:",omitempty"`
	ReadOnly      bool           `json:",omitempty"`
	Consistency   string         `json:",omitempty"`
	BindOptions   *bindOptions   `json:",omitempty"`
	VolumeOptions *volumeOptions `json:",omitempty"`
	TmpfsOptions  *tmpfsOptions  `json:",omitempty"`
}

type bindOptions struct {
	Propagation  string `json:",omitempty"`
	NonRecursive bool   `json:",omitempty"`
}

type volumeOptions struct {
	NoCopy       bool              `json:",omitempty"`
	Labels       map[string]string `json:",omitempty"`
	Subpath      string            `json:",omitempty"`
	DriverConfig *volumeDriver     `json:",omitempty"`
}

type volumeDriver struct {
	Name    string            `json:",omitempty"`
	Options map[string]string `json:",omitempty"`
}

type tmpfsOptions struct {
	SizeBytes int64      `json:",omitempty"`
	Mode      uint32     `json:",omitempty"` // os.FileMode's bits, printed in decimal as docker's
	Options   [][]string `json:",omitempty"`
}

// defaultPropagation is docker's propagation of a bind that names none.
const defaultPropagation = "rprivate"

// toMountPoints is docker's inspect Mounts of a container: every mount of
// its record but those of --tmpfs, which docker shows in HostConfig.Tmpfs
// only; [] when there is none, as docker's.
func toMountPoints(h state.Host) []mountPoint {
	out := []mountPoint{}
	for _, m := range h.Mounts {
		if m.Origin == "tmpfs" {
			continue
		}
		p := mountPoint{Type: m.Type, Source: m.Source, Destination: m.Destination, Mode: m.Mode, RW: !m.ReadOnly,
			Propagation: m.Propagation}
		switch m.Type {
		case "volume":
			p.Name, p.Driver = m.Name, "local"
		case "bind":
			if p.Propagation == "" {
				p.Propagation = defaultPropagation
			}
		case "tmpfs":
			p.Source = ""
		}
		out = append(out, p)
	}
	return out
}

// toMountSpecs is docker's HostConfig.Mounts: the mounts --mount made, as
// docker's CLI sends them (an anonymous volume without its generated name,
// options only where the flag set one); nil when there is none.
func toMountSpecs(mounts []state.Mount) []mountSpec {
	var out []mountSpec
	for _, m := range mounts {
		if m.Origin != "mount" {
			continue
		}
		s := mountSpec{Type: m.Type, Target: m.Destination, ReadOnly: m.ReadOnly}
		switch m.Type {
		case "bind":
			s.Source = m.Source
			if m.Propagation != "" && m.Propagation != defaultPropagation {
				s.BindOptions = &bindOptions{Propagation: m.Propagation}
			}
		case "volume":
			if !m.Anonymous {
				s.Source = m.Name
			}
			if m.NoCopy {
				// docker's CLI makes the driver config with any volume-* key.
				s.VolumeOptions = &volumeOptions{NoCopy: true, DriverConfig: &volumeDriver{}}
			}
		case "tmpfs":
			s.TmpfsOptions = toTmpfsOptions(m.Options)
		}
		out = append(out, s)
	}
	return out
}

// toTmpfsOptions turns a tmpfs's mount words back into --mount's
// tmpfs-size (bytes) and tmpfs-mode; nil when neither was set.
func toTmpfsOptions(options []string) *tmpfsOptions {
	var o tmpfsOptions
	for _, w := range options {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "size":
			o.SizeBytes = tmpfsBytes(v)
		case "mode":
			if mode, err := strconv.ParseUint(v, 8, 32); err == nil {
				o.Mode = uint32(mode)
			}
		}
	}
	if o.SizeBytes == 0 && o.Mode == 0 {
		return nil
	}
	return &o
}

// tmpfsBytes reads tmpfs(5)'s size: bytes, or k, m, g suffixed (0 for
// anything else, such as a percentage, which --mount cannot give).
func tmpfsBytes(v string) int64 {
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		}
		if mult > 1 {
			v = v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0
	}
	return n * mult
}
