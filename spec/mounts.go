package spec

// run's mount flags (-v, --mount, --tmpfs, --volumes-from, --read-only),
// parsed with docker's rules and words (the CLI's for --mount's fields,
// the daemon's volume/mounts parser for the rest), and the OCI mounts the
// init makes from the record's resolved Host.Mounts.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/state"
)

// MountFlags are run's mount flags as typed.
type MountFlags struct {
	Volumes     []string // -v, --volume
	Mounts      []string // --mount
	Tmpfs       []string // --tmpfs
	VolumesFrom []string // --volumes-from
	ReadOnly    bool     // --read-only
}

// Origins of a state.Mount: which flag made it.
const (
	OriginBind        = "bind"  // -v
	OriginMount       = "mount" // --mount
	OriginTmpfs       = "tmpfs" // --tmpfs
	OriginImage       = "image" // the image's VOLUME
	OriginVolumesFrom = "volumes-from"
)

// defaultPropagation is docker's for a bind that names none.
const defaultPropagation = "rprivate"

// ParseMounts checks run's mount flags and turns them into the record's
// Host: Mounts in flag order (-v, --mount, --tmpfs), binds' sources made
// absolute, volumes by name ("" for an anonymous one) and not yet created;
// Binds, Tmpfs and VolumesFrom as typed for inspect. relabel says a -v had
// z or Z (SELinux relabeling, which skiff ignores). The container's create
// resolves the rest (volumes, --volumes-from, the image's VOLUME).
func ParseMounts(f MountFlags) (h state.Host, relabel bool, err error) {
	h.ReadonlyRootfs = f.ReadOnly
	for _, raw := range f.Volumes {
		m, z, err := ParseVolume(raw)
		if err != nil {
			return h, false, err
		}
		relabel = relabel || z
		if !m.Anonymous {
			h.Binds = append(h.Binds, bindAsTyped(raw, m))
		}
		h.Mounts = append(h.Mounts, m)
	}
	for _, raw := range f.Mounts {
		m, err := ParseMount(raw)
		if err != nil {
			return h, false, err
		}
		h.Mounts = append(h.Mounts, m)
	}
	for _, raw := range f.Tmpfs {
		m, err := ParseTmpfs(raw)
		if err != nil {
			return h, false, err
		}
		if h.Tmpfs == nil {
			h.Tmpfs = map[string]string{}
		}
		dest, opts, _ := strings.Cut(raw, ":")
		h.Tmpfs[dest] = opts
		h.Mounts = append(h.Mounts, m)
	}
	if err := checkDuplicates(h.Mounts); err != nil {
		return h, false, err
	}
	for _, raw := range f.VolumesFrom {
		if _, _, err := ParseVolumesFrom(raw); err != nil {
			return h, false, err
		}
		h.VolumesFrom = append(h.VolumesFrom, raw)
	}
	return h, relabel, nil
}

// bindAsTyped is a -v as docker's HostConfig.Binds keeps it: the CLI makes
// a "./dir" source absolute and keeps the rest as typed.
func bindAsTyped(raw string, m state.Mount) string {
	if m.Type != "bind" {
		return raw
	}
	_, rest, _ := strings.Cut(raw, ":")
	return m.Source + ":" + rest
}

func checkDuplicates(ms []state.Mount) error {
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Destination] {
			return fmt.Errorf("Duplicate mount point: %s", m.Destination)
		}
		seen[m.Destination] = true
	}
	return nil
}

// errInvalidSpec and errInvalidMode are the daemon's words for a bad -v.
func errInvalidSpec(raw string) error  { return fmt.Errorf("invalid volume specification: '%s'", raw) }
func errInvalidMode(mode string) error { return fmt.Errorf("invalid mode: %s", mode) }

// mountConfigError is the daemon's error for a mount it refuses.
func mountConfigError(typ string, err error) error {
	return fmt.Errorf("invalid mount config for type %q: %w", typ, err)
}

// BindSourceMissing is the daemon's error for --mount type=bind whose
// source does not exist (create checks it: it looks at the host).
func BindSourceMissing(source string) error {
	return mountConfigError("bind", fmt.Errorf("bind source path does not exist: %s", source))
}

// The -v mode words by kind (functions, not maps: nothing is allocated
// at start-up of every skiff process).
func rwMode(o string) bool          { return o == "rw" || o == "ro" }
func labelMode(o string) bool       { return o == "z" || o == "Z" }
func copyMode(o string) bool        { return o == "nocopy" }
func consistencyMode(o string) bool { return o == "consistent" || o == "cached" || o == "delegated" }
func chownMode(o string) bool       { return o == "U" }     // podman's
func idmapMode(o string) bool       { return o == "idmap" } // podman's
func propagationMode(o string) bool {
	switch o {
	case "private", "rprivate", "slave", "rslave", "shared", "rshared":
		return true
	}
	return false
}

func errTargetIsRoot() error { return errors.New("invalid specification: destination can't be '/'") }

// validMode is the daemon's check of a -v mode: comma-separated words,
// at most one of each kind.
func validMode(mode string) bool {
	if mode == "" {
		return true
	}
	counts := map[string]int{}
	for _, o := range strings.Split(mode, ",") {
		kind := ""
		switch {
		case rwMode(o):
			kind = "rw"
		case labelMode(o):
			kind = "label"
		case propagationMode(o):
			kind = "propagation"
		case copyMode(o):
			kind = "copy"
		case consistencyMode(o):
			kind = "consistency"
		case chownMode(o):
			kind = "chown"
		case idmapMode(o):
			kind = "idmap"
		default:
			return false
		}
		if counts[kind]++; counts[kind] > 1 {
			return false
		}
	}
	return true
}

// modeWord is the mode's word of the given set, or "".
func modeWord(mode string, kind func(string) bool) string {
	for _, o := range strings.Split(mode, ",") {
		if kind(o) {
			return o
		}
	}
	return ""
}

// checkTarget is the daemon's check of a mount destination.
func checkTarget(target string) error {
	if target == "" {
		return errors.New("field Target must not be empty")
	}
	if path.Clean(target) == "/" {
		return errTargetIsRoot()
	}
	return checkAbsolute(target)
}

func checkAbsolute(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("invalid mount path: '%s' mount path must be absolute", p)
	}
	return nil
}

// ParseVolume reads one -v: HOST:CTR[:MODE] (a bind: HOST absolute, or
// "./dir" made absolute as docker's CLI does), NAME:CTR[:MODE] (a named
// volume) or CTR (an anonymous volume). relabel says MODE had z or Z.
// MODE takes podman's U (chown the source to the container's user) and
// idmap too.
func ParseVolume(raw string) (m state.Mount, relabel bool, err error) {
	arr := strings.SplitN(raw, ":", 4)
	if arr[0] == "" {
		return m, false, errInvalidSpec(raw)
	}
	var source, target, mode string
	switch len(arr) {
	case 1:
		target = arr[0]
	case 2:
		if validMode(arr[1]) { // "/ctr:rw" is a volume with a mode and no source
			return m, false, errInvalidSpec(raw)
		}
		source, target = arr[0], arr[1]
	case 3:
		source, target, mode = arr[0], arr[1], arr[2]
	default:
		return m, false, errInvalidSpec(raw)
	}
	if !validMode(mode) {
		return m, false, errInvalidMode(mode)
	}
	if strings.HasPrefix(source, ".") {
		if abs, err := filepath.Abs(source); err == nil {
			source = abs
		}
	}
	m = state.Mount{Type: "volume", Origin: OriginBind, Mode: mode, ReadOnly: modeWord(mode, rwMode) == "ro", NoCopy: modeWord(mode, copyMode) != "",
		Chown: modeWord(mode, chownMode) != "", IDMap: modeWord(mode, idmapMode) != ""}
	if path.IsAbs(source) {
		m.Type = "bind"
	}
	invalid := func(err error) error { return fmt.Errorf("%v: %w", errInvalidSpec(raw), mountConfigError(m.Type, err)) }
	if err := checkTarget(target); err != nil {
		return m, false, invalid(err)
	}
	m.Destination = path.Clean(target)
	prop := modeWord(mode, propagationMode)
	switch {
	case m.Type == "bind":
		m.Source = path.Clean(source)
		m.Propagation = cmpOr(prop, defaultPropagation)
	case prop != "":
		return m, false, invalid(errors.New("field BindOptions must not be specified"))
	case source == "":
		m.Anonymous = true
	default:
		m.Name = source
	}
	return m, modeWord(mode, labelMode) != "", nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mountFields is one --mount as docker's CLI reads it, before the
// daemon's checks.
type mountFields struct {
	typ, source, target string
	readOnly            bool
	noCopy              bool
	propagation         string
	tmpfsSize           int64
	tmpfsMode           uint64
	volumeOpts          bool // a volume-* field was given
	bindOpts            bool // a bind-* field
	tmpfsOpts           bool // a tmpfs-* field
}

// ParseMount reads one --mount: comma-separated key=value fields, as
// docker's CLI (errors in its flag words), then the daemon's checks.
func ParseMount(raw string) (state.Mount, error) {
	f, err := readMountFields(raw)
	if err != nil {
		return state.Mount{}, fmt.Errorf("invalid argument %q for \"--mount\" flag: %w", raw, err)
	}
	return f.mount()
}

func readMountFields(raw string) (mountFields, error) {
	fields, err := csv.NewReader(strings.NewReader(raw)).Read()
	if err != nil {
		return mountFields{}, err
	}
	f := mountFields{typ: "volume"}
	for _, field := range fields {
		if err := f.set(field); err != nil {
			return f, err
		}
	}
	switch {
	case f.typ == "":
		return f, errors.New("type is required")
	case f.target == "":
		return f, errors.New("target is required")
	case f.volumeOpts && f.typ != "volume":
		return f, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", f.typ)
	case f.bindOpts && f.typ != "bind":
		return f, fmt.Errorf("cannot mix 'bind-*' options with mount type '%s'", f.typ)
	case f.tmpfsOpts && f.typ != "tmpfs":
		return f, fmt.Errorf("cannot mix 'tmpfs-*' options with mount type '%s'", f.typ)
	}
	return f, nil
}

// set applies one field; the CLI's words for a bad one.
func (f *mountFields) set(field string) error {
	key, val, hasVal := strings.Cut(field, "=")
	if !hasVal {
		switch key {
		case "readonly", "ro":
			f.readOnly = true
		case "volume-nocopy":
			f.noCopy, f.volumeOpts = true, true
		case "bind-nonrecursive":
			return errors.New("bind-nonrecursive is not supported yet")
		default:
			return fmt.Errorf("invalid field '%s' must be a key=value pair", field)
		}
		return nil
	}
	var err error
	invalid := func() error { return fmt.Errorf("invalid value for %s: %s", key, val) }
	switch key {
	case "type":
		f.typ = strings.ToLower(val)
	case "source", "src":
		f.source = val
		if strings.HasPrefix(val, "./") || val == "." {
			if abs, err := filepath.Abs(val); err == nil {
				f.source = abs
			}
		}
	case "target", "dst", "destination":
		f.target = val
	case "readonly", "ro":
		if f.readOnly, err = strconv.ParseBool(val); err != nil {
			return invalid()
		}
	case "consistency": // macOS only: accepted and ignored, as on Linux docker
	case "bind-propagation":
		f.propagation, f.bindOpts = strings.ToLower(val), true
	case "volume-nocopy":
		if f.noCopy, err = strconv.ParseBool(val); err != nil {
			return fmt.Errorf("invalid value for volume-nocopy: %s", val)
		}
		f.volumeOpts = true
	case "tmpfs-size":
		if f.tmpfsSize, err = ramInBytes(val); err != nil {
			return invalid()
		}
		f.tmpfsOpts = true
	case "tmpfs-mode":
		if f.tmpfsMode, err = strconv.ParseUint(val, 8, 32); err != nil {
			return invalid()
		}
		f.tmpfsOpts = true
	case "bind-nonrecursive", "bind-recursive", "volume-label", "volume-driver", "volume-opt", "volume-subpath", "tmpfs-options":
		return fmt.Errorf("%s is not supported yet", key)
	default:
		return fmt.Errorf("unexpected key '%s' in '%s'", key, field)
	}
	return nil
}

// mount applies the daemon's checks (validateMountConfig) and makes the
// record's mount.
func (f mountFields) mount() (state.Mount, error) {
	m := state.Mount{Type: f.typ, Origin: OriginMount, ReadOnly: f.readOnly}
	fail := func(err error) (state.Mount, error) { return state.Mount{}, mountConfigError(f.typ, err) }
	if err := checkTarget(f.target); err != nil {
		return fail(err)
	}
	m.Destination = path.Clean(f.target)
	switch f.typ {
	case "bind":
		if f.source == "" {
			return fail(errors.New("field Source must not be empty"))
		}
		if f.propagation != "" && !propagationMode(f.propagation) {
			return fail(fmt.Errorf("invalid propagation mode: %s", f.propagation))
		}
		if err := checkAbsolute(f.source); err != nil {
			return fail(err)
		}
		m.Source, m.Propagation = path.Clean(f.source), cmpOr(f.propagation, defaultPropagation)
	case "volume":
		if f.source == "" && f.readOnly {
			return fail(errors.New("must not set ReadOnly mode when using anonymous volumes"))
		}
		m.Name, m.Anonymous, m.NoCopy = f.source, f.source == "", f.noCopy
	case "tmpfs":
		if f.source != "" {
			return fail(errors.New("field Source must not be specified"))
		}
		m.Options = tmpfsData(f.tmpfsMode, f.tmpfsSize)
	default:
		return fail(errors.New("mount type unknown"))
	}
	return m, nil
}

// tmpfsData is the daemon's tmpfs data from --mount's tmpfs-mode and
// tmpfs-size: mode in octal, size in the largest unit that divides it.
func tmpfsData(mode uint64, size int64) []string {
	var out []string
	if mode != 0 {
		out = append(out, fmt.Sprintf("mode=%o", mode))
	}
	if size != 0 {
		suffix := ""
		for _, u := range []struct {
			s string
			n int64
		}{{"g", 1 << 30}, {"m", 1 << 20}, {"k", 1 << 10}} {
			if size%u.n == 0 {
				size, suffix = size/u.n, u.s
				break
			}
		}
		out = append(out, fmt.Sprintf("size=%d%s", size, suffix))
	}
	return out
}

// ParseTmpfs reads one --tmpfs PATH[:OPTIONS]: OPTIONS are mount(8)
// words, passed to the tmpfs after docker's defaults.
func ParseTmpfs(raw string) (state.Mount, error) {
	dest, opts, _ := strings.Cut(raw, ":")
	if path.Clean(dest) == "/" {
		return state.Mount{}, errTargetIsRoot()
	}
	if err := checkAbsolute(dest); err != nil {
		return state.Mount{}, err
	}
	m := state.Mount{Type: "tmpfs", Origin: OriginTmpfs, Destination: path.Clean(dest)}
	if opts != "" {
		m.Options = strings.Split(opts, ",")
	}
	m.ReadOnly = slices.Contains(m.Options, "ro")
	return m, nil
}

// ParseVolumesFrom reads one --volumes-from CONTAINER[:ro|rw]: the
// daemon's rules (no propagation, no copy mode).
func ParseVolumesFrom(raw string) (ref string, readOnly bool, err error) {
	if raw == "" {
		return "", false, errors.New("volumes-from specification cannot be an empty string")
	}
	ref, mode, _ := strings.Cut(raw, ":")
	if mode == "" {
		return ref, false, nil
	}
	if !validMode(mode) || modeWord(mode, propagationMode) != "" || modeWord(mode, copyMode) != "" {
		return "", false, errInvalidMode(mode)
	}
	return ref, modeWord(mode, rwMode) == "ro", nil
}

// ramInBytes reads a size as docker's units.RAMInBytes: a number with an
// optional binary unit (k, m, g, t, p; "b", "ib" allowed after it).
func ramInBytes(s string) (int64, error) {
	num := strings.TrimSpace(strings.ToLower(s))
	num = strings.TrimSuffix(num, "b")
	num = strings.TrimSuffix(num, "i")
	mult := int64(1)
	if n := len(num); n > 0 {
		if i := strings.IndexByte("kmgtp", num[n-1]); i >= 0 {
			mult = int64(1) << (10 * (i + 1))
			num = strings.TrimSpace(num[:n-1])
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || num == "" || strings.ContainsAny(num, "+-eE") {
		return 0, fmt.Errorf("invalid size: '%s'", s)
	}
	return int64(f * float64(mult)), nil
}

// tmpfsDefaults are docker's words before a tmpfs's own (--tmpfs and
// --mount type=tmpfs alike).
func tmpfsDefaults() []string { return []string{"noexec", "nosuid", "nodev"} }

// VolumeSource says how a named volume is mounted (volume.MountSource):
// "bind" of a host directory, or "tmpfs" with mount(8) words.
type VolumeSource func(m state.Mount) (typ, source string, options []string, err error)

// ociMount is one of the record's resolved mounts as the init makes it,
// with docker's options.
func ociMount(m state.Mount, volume VolumeSource) (specs.Mount, error) {
	typ, source, opts := m.Type, m.Source, m.Options
	if typ == "volume" {
		typ = "bind"
		if volume != nil {
			var err error
			if typ, source, opts, err = volume(m); err != nil {
				return specs.Mount{}, err
			}
		}
	}
	switch typ {
	case "bind":
		return specs.Mount{Destination: m.Destination, Type: "bind", Source: source, Options: bindOptions(m, opts)}, nil
	case "tmpfs":
		o := mergeTmpfsOptions(append(tmpfsDefaults(), opts...))
		if m.ReadOnly && !slices.Contains(o, "ro") {
			o = append(o, "ro")
		}
		return specs.Mount{Destination: m.Destination, Type: "tmpfs", Source: cmpOr(source, "tmpfs"), Options: o}, nil
	}
	return specs.Mount{}, fmt.Errorf("mount on %s: unknown mount type %q", m.Destination, typ)
}

// bindOptions are docker's for a bind: recursive, its propagation, ro;
// a volume's own words (a named bind's o=: bind, ro...) go after.
func bindOptions(m state.Mount, words []string) []string {
	o := []string{"rbind", cmpOr(m.Propagation, defaultPropagation)}
	for _, w := range words {
		switch w {
		case "bind":
			o[0] = "bind"
		case "rbind":
		default:
			o = append(o, w)
		}
	}
	if m.ReadOnly && !slices.Contains(o, "ro") {
		o = append(o, "ro")
	}
	return o
}

// mergeTmpfsOptions keeps the last of each option (a flag and its
// opposite, exec and noexec, count as one; so do size=1 and size=2), in
// the order of their last appearance, as docker's MergeTmpfsOptions.
func mergeTmpfsOptions(opts []string) []string {
	key := func(o string) string {
		if k, _, ok := strings.Cut(o, "="); ok {
			return k + "="
		}
		for _, p := range []string{"no", "strict", "rel"} {
			if strings.HasPrefix(o, p) {
				return strings.TrimPrefix(o, p)
			}
		}
		if o == "ro" {
			return "rw"
		}
		return o
	}
	var out []string
	seen := map[string]bool{}
	for i := len(opts) - 1; i >= 0; i-- {
		k := key(opts[i])
		if !seen[k] {
			seen[k] = true
			out = append(out, opts[i])
		}
	}
	slices.Reverse(out)
	return out
}

// rootlessMount is docker's default mount d as a rootless container on
// the host's network or IPC namespace has it (ok false: none). A sysfs or
// an mqueue cannot be mounted for a namespace of the host's user
// namespace (the kernel wants CAP_SYS_ADMIN over that one): /sys is the
// host's, bound, as runc's rootless spec has it; /dev/mqueue is left out,
// as a host need not mount one to bind (message queues work without it:
// it only lists them).
func rootlessMount(d specs.Mount, o Options) (_ specs.Mount, ok bool) {
	switch {
	case d.Type == "sysfs" && o.Network == NetworkHost:
		return specs.Mount{Destination: d.Destination, Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}, true
	case d.Type == "mqueue" && o.Host.Security.IpcMode == ModeHost:
		return specs.Mount{}, false
	}
	return d, true
}

// depth is a destination's number of components, docker's mount order.
func depth(dest string) int { return strings.Count(path.Clean(dest), "/") }

// SortMounts puts a parent before its children (by depth, as docker
// sorts), keeping the flags' order otherwise.
func SortMounts(ms []state.Mount) {
	slices.SortStableFunc(ms, func(a, b state.Mount) int { return depth(a.Destination) - depth(b.Destination) })
}

// allMounts is the container's OCI mount list: docker's defaults that no
// mount of the user's covers, then the generated /etc files and the
// user's mounts, a parent before a child (by depth, as docker sorts).
func allMounts(in Input) ([]specs.Mount, error) {
	user := map[string]bool{}
	var sorted []specs.Mount
	for _, m := range in.Mounts {
		om, err := ociMount(m, in.VolumeSource)
		if err != nil {
			return nil, err
		}
		user[om.Destination] = true
		sorted = append(sorted, om)
	}
	for _, g := range generatedMounts(in.HostnameFile, in.HostsFile, in.ResolvConfFile, in.ReadonlyRootfs) {
		if !user[g.Destination] {
			sorted = append(sorted, g)
		}
	}
	slices.SortStableFunc(sorted, func(a, b specs.Mount) int { return depth(a.Destination) - depth(b.Destination) })
	var out []specs.Mount
	for _, d := range defaultMounts() {
		// A mount of the user's on /dev replaces docker's whole /dev.
		if user[d.Destination] || (user["/dev"] && strings.HasPrefix(d.Destination, "/dev/")) {
			continue
		}
		if in.Rootless {
			var ok bool
			if d, ok = rootlessMount(d, in.Opts); !ok {
				continue
			}
		}
		out = append(out, d)
	}
	return append(out, sorted...), nil
}
