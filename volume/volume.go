package volume

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Volume is one volume as its metadata file records it.
type Volume struct {
	Name       string            `json:"name"`
	Driver     string            `json:"driver"` // always "local"
	Mountpoint string            `json:"-"`      // <root>/volumes/<name>/_data, from the name
	CreatedAt  time.Time         `json:"createdAt"`
	Labels     map[string]string `json:"labels,omitempty"`    // --label
	Options    map[string]string `json:"options,omitempty"`   // -o
	Anonymous  bool              `json:"anonymous,omitempty"` // made for -v /ctr or an image's VOLUME
}

// CreateOptions are what `volume create` (and a container's -v) asks for.
type CreateOptions struct {
	Driver          string // "" or "local"
	Labels, Options map[string]string
	Anonymous       bool
}

// ErrNotFound is a missing volume; docker's message is "get NAME: no such volume".
var ErrNotFound = errors.New("no such volume")

// AnonymousLabel is the label docker (23+) puts on an anonymous volume:
// `volume prune` without -a removes only volumes that carry it.
const AnonymousLabel = "com.docker.volume.anonymous"

const (
	// DefaultDriver is the one driver skiff has.
	DefaultDriver = "local"
	dataDir       = "_data"
	metaFile      = "volume.json"
	// restrictedChars is docker's names.RestrictedNameChars, as its
	// message quotes it.
	restrictedChars = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
)

// ValidName checks name against docker's pattern for a local volume
// ([a-zA-Z0-9][a-zA-Z0-9_.-]+), with docker's messages. A valid name is one
// path element that cannot start with a dot, so it never leaves the
// volumes directory nor names skiff's own files there (.lock, .tmp).
func ValidName(name string) error {
	if len(name) == 1 {
		return errors.New("volume name is too short, names should be at least two alphanumeric characters")
	}
	if !validName(name) {
		return fmt.Errorf("%q includes invalid characters for a local volume name, only %q are allowed. If you intended to pass a host directory, use absolute path", name, restrictedChars)
	}
	return nil
}

func validName(name string) bool {
	if len(name) < 2 || !alnum(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// validOptions checks a driver and its -o options as docker's local
// driver does (unknown keys, the keys each needs), then refuses what skiff
// cannot mount yet: other drivers, quotas, and filesystems other than a
// bind (type=none, o=bind) or a tmpfs.
func validOptions(driver string, opts map[string]string) error {
	if driver != "" && driver != DefaultDriver {
		return fmt.Errorf("error looking up volume plugin %s: volume plugins are not supported yet, only the %q driver", driver, DefaultDriver)
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch k {
		case "type", "o", "device":
		case "size":
			return errors.New("volume option size (a quota) is not supported yet")
		default:
			return fmt.Errorf("invalid option: %q", k)
		}
	}
	// docker's mandatoryOpts: device and type need each other, o needs both.
	for _, need := range [][2]string{{"device", "type"}, {"o", "device"}, {"o", "type"}, {"type", "device"}} {
		if _, ok := opts[need[0]]; ok {
			if _, ok := opts[need[1]]; !ok {
				return fmt.Errorf("missing required option: %q", need[1])
			}
		}
	}
	switch typ := opts["type"]; typ {
	case "", "tmpfs":
	case "none":
		if !slices.ContainsFunc(words(opts["o"]), isBindWord) {
			return errors.New("volume option type=none without o=bind is not supported yet")
		}
		if !filepath.IsAbs(opts["device"]) {
			return fmt.Errorf("volume option device=%s: a bind's device must be an absolute path", opts["device"])
		}
	default:
		return fmt.Errorf("volume option type=%s is not supported yet: only type=none with o=bind, and type=tmpfs", typ)
	}
	return nil
}

func isBindWord(w string) bool { return w == "bind" || w == "rbind" }

// words splits an o= value into its mount(8) words.
func words(o string) []string {
	var ws []string
	for _, w := range strings.Split(o, ",") {
		if w != "" {
			ws = append(ws, w)
		}
	}
	return ws
}

// MountSource is how a container mounts v: a plain volume is a bind of
// its Mountpoint; -o type=none -o o=bind -o device=P a bind of P, options
// o's words as given (bind or rbind, ro...); -o type=tmpfs a tmpfs whose
// source is the device and options o's words (size=, mode=, uid=...).
func (v *Volume) MountSource() (typ, source string, options []string) {
	switch v.Options["type"] {
	case "none":
		return "bind", v.Options["device"], words(v.Options["o"])
	case "tmpfs":
		return "tmpfs", v.Options["device"], words(v.Options["o"])
	}
	return "bind", v.Mountpoint, nil
}
