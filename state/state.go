package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/proc"
	"golang.org/x/sys/unix"
)

// Status is a container's lifecycle state, as docker names it.
type Status string

const (
	Created Status = "created"
	Running Status = "running"
	// Restarting is a container whose monitor waits out the restart
	// policy's back-off before starting its process again.
	Restarting Status = "restarting"
	Paused     Status = "paused" // issue 4: frozen by the freezer cgroup
	Exited     Status = "exited"
)

// Up reports whether the status claims a live process: running, or paused
// (docker's State.Running stays true while paused).
func (s Status) Up() bool { return s == Running || s == Paused }

// UnknownExit is the exit code recorded for a container whose process died
// while no monitor was waiting for it, so its real status is lost. It is
// documented as -1 ("unknown"), which no process can exit with.
const UnknownExit = -1

// RestartPolicy is docker's --restart: Name is "no" (or ""), "on-failure",
// "always" or "unless-stopped"; MaximumRetryCount bounds on-failure (0:
// no bound).
type RestartPolicy struct {
	Name              string `json:"Name"`
	MaximumRetryCount int    `json:"MaximumRetryCount"`
}

// Config is the part of a container's configuration that ps and inspect show.
type Config struct {
	Image      string   `json:"image"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Cmd        []string `json:"cmd,omitempty"`
	Env        []string `json:"env,omitempty"`
	WorkingDir string   `json:"workingDir,omitempty"`
	User       string   `json:"user,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	Domainname string   `json:"domainname,omitempty"`
	Tty        bool     `json:"tty,omitempty"`
	OpenStdin  bool     `json:"openStdin,omitempty"`
	AutoRemove bool     `json:"autoRemove,omitempty"`

	RestartPolicy RestartPolicy `json:"restartPolicy,omitzero"`
	// Init runs skiff's built-in init as PID 1 (--init).
	Init bool `json:"init,omitempty"`
	// StopSignal is --stop-signal or the image's STOPSIGNAL ("" = SIGTERM).
	StopSignal string `json:"stopSignal,omitempty"`
	// StopTimeout is --stop-timeout in seconds (nil: stop's default, 10).
	StopTimeout *int              `json:"stopTimeout,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	// Volumes and ExposedPorts are the image's VOLUME and EXPOSE entries,
	// kept for inspect (nothing is mounted or published for them yet).
	Volumes      map[string]struct{} `json:"volumes,omitempty"`
	ExposedPorts map[string]struct{} `json:"exposedPorts,omitempty"`
	// Attach* are the streams a foreground run or start -a attaches.
	AttachStdin  bool `json:"attachStdin,omitempty"`
	AttachStdout bool `json:"attachStdout,omitempty"`
	AttachStderr bool `json:"attachStderr,omitempty"`
}

// Host is what a container gets from the host beyond its image: volumes
// and mounts (issue 11), networks and resource limits (later issues). It
// lives in the record, not in config.json.
type Host struct {
	// Mounts is every mount the container gets beyond docker's defaults,
	// resolved at create (volumes named, host paths absolute), in the order
	// the init mounts them.
	Mounts []Mount `json:"mounts,omitempty"`
	// Binds, Tmpfs and VolumesFrom are the flags as typed, for inspect's
	// HostConfig (Binds, Tmpfs, VolumesFrom); Mounts holds what they made.
	Binds          []string          `json:"binds,omitempty"`
	Tmpfs          map[string]string `json:"tmpfs,omitempty"`
	VolumesFrom    []string          `json:"volumesFrom,omitempty"`
	ReadonlyRootfs bool              `json:"readonlyRootfs,omitempty"`
	// Networks are the networks the container is on: ["bridge"], or one
	// of docker's modes with none: ["host"], ["none"], ["container:<id>"]
	// (NetworkMode). Empty (records before issue 14, build's RUN
	// containers): its own namespace with loopback only.
	Networks []string `json:"networks,omitempty"`
	// NetworkMode is docker's HostConfig.NetworkMode: "bridge", "host",
	// "none", "container:<id>" (the id resolved at create).
	NetworkMode string `json:"networkMode,omitempty"`
	// Ports are -p and -P's bindings (-P's resolved at create from the
	// exposed ports), host ports as asked (0: random at each start).
	Ports      []PortBinding `json:"ports,omitempty"`
	PublishAll bool          `json:"publishAll,omitempty"`
	// DNS, DNSSearch, DNSOptions and ExtraHosts are --dns, --dns-search,
	// --dns-option and --add-host as typed (inspect's HostConfig.Dns ...).
	DNS        []string `json:"dns,omitempty"`
	DNSSearch  []string `json:"dnsSearch,omitempty"`
	DNSOptions []string `json:"dnsOptions,omitempty"`
	ExtraHosts []string `json:"extraHosts,omitempty"`
	MacAddress string   `json:"macAddress,omitempty"` // --mac-address
	Limits     Limits   `json:"limits,omitzero"`
	// SecurityOpt is --security-opt as docker records it (a seccomp
	// profile file's JSON in place of its path), for inspect.
	SecurityOpt []string `json:"securityOpt,omitempty"`
	// SystemPathsUnconfined is --security-opt systempaths=unconfined: no
	// masked or read-only /proc and /sys paths (docker's CLI keeps it out
	// of SecurityOpt).
	SystemPathsUnconfined bool `json:"systemPathsUnconfined,omitempty"`
	// Security is issue 18's flags as checked by the CLI (docker's
	// HostConfig fields of the same names, for inspect and every start).
	Security SecurityFlags `json:"security,omitzero"`
	// Endpoints are the user networks the container is connected to, in
	// the order it joins them at a start (after the default bridge if
	// NetworkMode is "bridge"): run's --network NAME (--network-alias and
	// --ip apply to the first), connect's; disconnect removes one. With
	// one, NetworkMode is the first's name (issue 19).
	Endpoints []EndpointConfig `json:"endpoints,omitempty"`
	// Links are --link's, the targets resolved at create (issue 19).
	Links []Link `json:"links,omitempty"`
}

// EndpointConfig is a container's configuration on one user network
// (docker's EndpointSettings as given: inspect's NetworkSettings shows
// the live address from the network's member record).
type EndpointConfig struct {
	NetworkID   string   `json:"networkID"`   // 64 hex
	NetworkName string   `json:"networkName"` // as when connected (docker's networks are never renamed)
	Aliases     []string `json:"aliases,omitempty"`
	IPv4Address string   `json:"ipv4Address,omitempty"` // --ip / connect --ip; "": the next free
}

// Link is one --link NAME[:ALIAS]: docker's HostConfig.Links entry
// "/NAME:/SELF/ALIAS".
type Link struct {
	ID    string `json:"id"`    // the linked container
	Name  string `json:"name"`  // its name at create, without docker's '/'
	Alias string `json:"alias"` // ALIAS, or NAME when none was given
}

// SecurityFlags are docker run's privilege, device and namespace flags.
// Zero is docker's default for each.
type SecurityFlags struct {
	Privileged bool `json:"privileged,omitempty"`
	// CapAdd and CapDrop as typed ("NET_ADMIN", "CAP_SYS_TIME", "ALL").
	CapAdd  []string `json:"capAdd,omitempty"`
	CapDrop []string `json:"capDrop,omitempty"`
	// Devices are --device's mappings; DeviceCgroupRules
	// --device-cgroup-rule's ("c 1:3 mr", "a *:* rwm").
	Devices           []DeviceMapping `json:"devices,omitempty"`
	DeviceCgroupRules []string        `json:"deviceCgroupRules,omitempty"`
	// GroupAdd is --group-add as typed (names resolved in the container).
	GroupAdd []string `json:"groupAdd,omitempty"`
	Ulimits  []Ulimit `json:"ulimits,omitempty"`
	// Sysctls is --sysctl (namespaced keys only, checked).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// ShmSize is --shm-size in bytes (0: docker's 64 MiB).
	ShmSize int64 `json:"shmSize,omitempty"`
	// PidMode, IpcMode, UTSMode, UsernsMode are --pid, --ipc, --uts,
	// --userns as docker records them ("host", "container:<id>" with the
	// id resolved at create, "private", "shareable", "none"; "": default).
	PidMode    string `json:"pidMode,omitempty"`
	IpcMode    string `json:"ipcMode,omitempty"`
	UTSMode    string `json:"utsMode,omitempty"`
	UsernsMode string `json:"usernsMode,omitempty"`
}

// DeviceMapping is one --device HOST[:CTR[:PERMS]].
type DeviceMapping struct {
	PathOnHost        string `json:"pathOnHost"`
	PathInContainer   string `json:"pathInContainer"`
	CgroupPermissions string `json:"cgroupPermissions"` // "rwm" by default
}

// Ulimit is one --ulimit NAME=SOFT[:HARD] (docker's names: nofile, nproc...).
type Ulimit struct {
	Name string `json:"name"`
	Soft int64  `json:"soft"`
	Hard int64  `json:"hard"`
}

// Mount is one mount of Host.Mounts: a bind (-v /host:/ctr, --mount
// type=bind), a volume (-v name:/ctr, -v /ctr, the image's VOLUME,
// --mount type=volume) or a tmpfs (--tmpfs, --mount type=tmpfs).
type Mount struct {
	Type string `json:"type"`           // "bind", "volume", "tmpfs"
	Name string `json:"name,omitempty"` // a volume's name (an anonymous one's is 64 hex)
	// Source is the host path mounted: a bind's source, a volume's data
	// directory; empty for a tmpfs.
	Source      string `json:"source,omitempty"`
	Destination string `json:"destination"` // absolute, cleaned, in the container
	ReadOnly    bool   `json:"readOnly,omitempty"`
	// Propagation is a bind's (docker's default "rprivate").
	Propagation string `json:"propagation,omitempty"`
	// Mode is what docker's inspect shows as Mounts[].Mode: the -v
	// suffix as typed ("ro", "z", ...), "" for --mount.
	Mode string `json:"mode,omitempty"`
	// Origin says which flag made it, for inspect's HostConfig: "bind"
	// (-v), "mount" (--mount), "tmpfs" (--tmpfs), "image" (VOLUME),
	// "volumes-from".
	Origin    string `json:"origin,omitempty"`
	Anonymous bool   `json:"anonymous,omitempty"` // rm -v and --rm remove it
	NoCopy    bool   `json:"noCopy,omitempty"`    // volume-nocopy: no copy-up of image content
	// Chown is -v's U (podman's): the source is given to the container's
	// user (chown -R) at create; rootless, that lands on the host ids the
	// user namespace maps the container's user to (issue 20).
	Chown bool `json:"chown,omitempty"`
	// IDMap is -v's idmap (podman's): an idmapped bind mount. Refused at
	// create, saying why (issue 20): root's containers have no user
	// namespace to map to, and a rootless user may not idmap the host's
	// filesystems.
	IDMap bool `json:"idmap,omitempty"`
	// Options are mount(8) words for the init: a tmpfs's size=, mode=.
	Options []string `json:"options,omitempty"`
}

// PortBinding is one -p: host ports HostPort .. HostPort+Count-1 (on
// HostIP, "" for every address) to container ports ContainerPort ..
// ContainerPort+Count-1. A range is one binding (and one rule).
type PortBinding struct {
	Proto         string `json:"proto"` // "tcp" or "udp"
	HostIP        string `json:"hostIP,omitempty"`
	HostPort      uint16 `json:"hostPort"` // 0: random (Count is then 1)
	ContainerPort uint16 `json:"containerPort"`
	Count         uint16 `json:"count,omitempty"` // 0 or 1: one port
}

// NetworkStatus is a running container's attachment to its network, as
// its monitor made it at the last start; nil when it is not running or
// has no network of its own. inspect's NetworkSettings, ps's PORTS and
// port read it.
type NetworkStatus struct {
	Network     string        `json:"network"`   // "bridge"
	Interface   string        `json:"interface"` // the bridge device: skiff0
	HostVeth    string        `json:"hostVeth,omitempty"`
	IPAddress   string        `json:"ipAddress"`
	IPPrefixLen int           `json:"ipPrefixLen"`
	Gateway     string        `json:"gateway"`
	MacAddress  string        `json:"macAddress"`
	Ports       []PortBinding `json:"ports,omitempty"` // Host.Ports with random host ports resolved
}

// Limits are docker's resource flags (HostConfig's Resources), as given
// and checked by the CLI, kept in the record for inspect, update and every
// start (the monitor writes them into the container's cgroup before its
// process runs). Zero is "not set" (docker's defaults).
type Limits struct {
	Memory            int64  `json:"memory,omitempty"`            // -m, bytes
	MemorySwap        int64  `json:"memorySwap,omitempty"`        // --memory-swap, bytes of memory+swap; -1 unlimited
	MemoryReservation int64  `json:"memoryReservation,omitempty"` // --memory-reservation, bytes
	MemorySwappiness  *int64 `json:"memorySwappiness,omitempty"`  // --memory-swappiness 0..100 (nil: not set)
	KernelMemory      int64  `json:"kernelMemory,omitempty"`      // --kernel-memory (deprecated, warned, not applied)
	OomKillDisable    bool   `json:"oomKillDisable,omitempty"`    // --oom-kill-disable
	NanoCPUs          int64  `json:"nanoCpus,omitempty"`          // --cpus, 1e9 per CPU
	CPUShares         int64  `json:"cpuShares,omitempty"`         // -c/--cpu-shares
	CPUPeriod         int64  `json:"cpuPeriod,omitempty"`         // --cpu-period, µs
	CPUQuota          int64  `json:"cpuQuota,omitempty"`          // --cpu-quota, µs
	CpusetCpus        string `json:"cpusetCpus,omitempty"`        // --cpuset-cpus
	CpusetMems        string `json:"cpusetMems,omitempty"`        // --cpuset-mems
	PidsLimit         int64  `json:"pidsLimit,omitempty"`         // --pids-limit; 0 or -1 unlimited
	BlkioWeight       uint16 `json:"blkioWeight,omitempty"`       // --blkio-weight 10..1000
	// Device throttles: --device-read-bps, --device-write-bps,
	// --device-read-iops, --device-write-iops.
	BlkioDeviceReadBps   []ThrottleDevice `json:"blkioDeviceReadBps,omitempty"`
	BlkioDeviceWriteBps  []ThrottleDevice `json:"blkioDeviceWriteBps,omitempty"`
	BlkioDeviceReadIOps  []ThrottleDevice `json:"blkioDeviceReadIOps,omitempty"`
	BlkioDeviceWriteIOps []ThrottleDevice `json:"blkioDeviceWriteIOps,omitempty"`
	// CgroupParent is --cgroup-parent ("": skiff's /skiff); CgroupnsMode
	// --cgroupns, "host" or "private" ("": docker's default for the host:
	// host on cgroup v1, private on v2).
	CgroupParent string `json:"cgroupParent,omitempty"`
	CgroupnsMode string `json:"cgroupnsMode,omitempty"`
	OomScoreAdj  int    `json:"oomScoreAdj,omitempty"` // --oom-score-adj
	// CgroupMount and CgroupSubtree are a rootless container's delegated
	// cgroup (issue 20, cgroup.Delegation's fields of the same names, read
	// at create): its cgroup is CgroupSubtree/skiff/<id> in the cgroup2
	// hierarchy mounted at CgroupMount. Kept so that every later command
	// finds it, from wherever it runs (a login session's shell has no
	// delegation of its own). "": root's cgroups, or a rootless container
	// that has none.
	CgroupMount   string `json:"cgroupMount,omitempty"`
	CgroupSubtree string `json:"cgroupSubtree,omitempty"`
}

// ThrottleDevice is one --device-*-bps/iops value: the host device path
// as given and its rate (bytes or operations per second). Major and minor
// are resolved at create (a device that does not exist is refused there).
type ThrottleDevice struct {
	Path  string `json:"path"`
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Rate  uint64 `json:"rate"`
}

// Container is the record kept at <root>/containers/<id>/state.json: the
// source of truth for the container's configuration. config.json, the OCI
// spec made from it at create, is the runtime's input only (the init's
// config, exec's base process).
type Container struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	ImageID string    `json:"imageID"`
	Image   string    `json:"image"` // as the user typed it
	Created time.Time `json:"created"`
	Config  Config    `json:"config"`
	// Layers are the image's extracted layer dirs, bottom layer first: the
	// overlay's lower dirs (upper and work are in the container's dir).
	Layers []string `json:"layers"`
	// Driver is how the container's root is mounted: "" the kernel's
	// overlay (root's, or a rootless one with userxattr), or
	// "fuse-overlayfs" (rootless, where the kernel refuses overlay, or the
	// config file's storage-driver says so). Chosen at create.
	Driver string `json:"driver,omitempty"`
	Host   Host   `json:"host,omitzero"`
	Status Status `json:"status"`
	Pid    int    `json:"pid,omitempty"`
	// PidStartTime is field 22 of /proc/<pid>/stat when the process started,
	// so a recycled pid is never taken for the container's.
	PidStartTime uint64    `json:"pidStartTime,omitempty"`
	ExitCode     int       `json:"exitCode"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	FinishedAt   time.Time `json:"finishedAt,omitzero"`

	// MonitorPid and MonitorStartTime identify the container's monitor
	// (for display and signals only: liveness is its flock, MonitorAlive).
	MonitorPid       int    `json:"monitorPid,omitempty"`
	MonitorStartTime uint64 `json:"monitorStartTime,omitempty"`
	// Network is the running container's network attachment (issue 14):
	// written by the monitor at each start, cleared at exit.
	Network *NetworkStatus `json:"network,omitempty"`
	// OOMKilled says the last exit was the kernel's OOM killer's, read
	// from the memory cgroup's events when the process exited (issue 16).
	OOMKilled bool `json:"oomKilled,omitempty"`
	// RestartCount counts the restart policy's restarts since the last start.
	RestartCount int `json:"restartCount,omitempty"`
	// ManuallyStopped is set by stop and kill, cleared by start: the restart
	// policy leaves such a container alone (docker's HasBeenManuallyStopped).
	ManuallyStopped bool `json:"manuallyStopped,omitempty"`

	// Orphaned is set by Load on a record that says running whose process
	// is gone: it is shown exited (ExitCode UnknownExit) but the record on
	// disk still says running until container.Store.Reconcile (or its
	// monitor) writes it.
	Orphaned bool `json:"-"`
}

// ErrNotFound is matched (errors.Is) by every lookup miss.
var ErrNotFound = errors.New("no such container")

// NotFoundError names what was looked up, in docker's words.
type NotFoundError struct{ Ref string }

func (e *NotFoundError) Error() string     { return "No such container: " + e.Ref }
func (e *NotFoundError) Is(err error) bool { return err == ErrNotFound }

// AmbiguousError is a prefix that matches more than one container.
type AmbiguousError struct{ Ref string }

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("multiple IDs found with provided prefix: %s", e.Ref)
}

// ContainersDir is where the per-container directories live.
func ContainersDir(root string) string { return filepath.Join(root, "containers") }

// Dir is a container's directory; the id is validated so that it can never
// name a path outside ContainersDir.
func Dir(root, id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("invalid container id %q", id)
	}
	return filepath.Join(ContainersDir(root), id), nil
}

// ValidID reports whether id is a full 64-hex container id.
func ValidID(id string) bool {
	if len(id) != 64 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// NewID returns a random 64-hex container id, as docker's.
func NewID() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("container id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// Save writes c's record atomically: a reader sees the old or the new
// record, never a torn one.
func Save(root string, c *Container) error {
	dir, err := Dir(root, c.ID)
	if err != nil {
		return err
	}
	// Compact: ps decodes every record, and JSON's decoder pays for
	// indentation byte by byte (records written indented still load).
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("container %s: encoding record: %w", shortid.Of(c.ID), err)
	}
	if err := writeFileAtomic(filepath.Join(dir, "state.json"), b); err != nil {
		return fmt.Errorf("container %s: saving record: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// writeFileAtomic publishes b at path by rename. It does not fsync: a rename
// is atomic against any process being killed (the page cache outlives it),
// which is the fault skiff must survive; an fsync cost ~5 ms a record on this
// VM's disks and was the largest single cost of `skiff run`. After a power
// loss ext4's auto_da_alloc still flushes a file renamed over another.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".state-*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// Load reads the record of the container with the full id.
func Load(root, id string) (*Container, error) {
	dir, err := Dir(root, id)
	if err != nil {
		return nil, &NotFoundError{Ref: id}
	}
	b, err := readRecord(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &NotFoundError{Ref: id}
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: reading record: %w", shortid.Of(id), err)
	}
	var c Container
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("container %s: record is corrupt: %w (remove %s)", shortid.Of(id), err, dir)
	}
	if c.Layers == nil {
		c.Layers = legacyLayers(dir)
	}
	c.refresh()
	return &c, nil
}

// legacyLayers reads the layer list of a record written before the record
// held it: those containers kept it in their config.json's annotation
// run.skiff.lowerdirs (a JSON list, bottom layer first). Without it, such
// a container would start on its upper dir alone. nil when absent.
func legacyLayers(dir string) []string {
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil
	}
	var spec struct {
		Annotations map[string]string `json:"annotations"`
	}
	var layers []string
	if json.Unmarshal(b, &spec) != nil || json.Unmarshal([]byte(spec.Annotations["run.skiff.lowerdirs"]), &layers) != nil {
		return nil
	}
	return layers
}

// List returns every container, newest first. A directory without a
// readable record (a create in progress, or debris) is skipped.
func List(root string) ([]*Container, error) {
	ents, err := os.ReadDir(ContainersDir(root))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing containers: %w", err)
	}
	ids := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() && ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	loaded := loadAll(root, ids)
	out := loaded[:0]
	for _, c := range loaded {
		if c != nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// loadAll reads the records of ids, nil where one cannot be read (removed
// meanwhile, or corrupt). Reading and decoding is most of ps's work, so
// with many records each CPU takes a share.
func loadAll(root string, ids []string) []*Container {
	out := make([]*Container, len(ids))
	workers := min(runtime.GOMAXPROCS(0), len(ids)/16)
	if workers < 2 {
		for i, id := range ids {
			out[i], _ = Load(root, id)
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(ids); i = int(next.Add(1) - 1) {
				out[i], _ = Load(root, ids[i])
			}
		}()
	}
	wg.Wait()
	return out
}

// readRecord reads a record file with three system calls (open, read,
// close) where os.ReadFile makes six (it also stats the file, registers it
// with the poller and reads once more for EOF): ps reads every record.
func readRecord(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, 4096)
	for {
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		b = b[:len(b)+n]
		if n == 0 || len(b) < cap(b) {
			// A short read of a regular file is its end: records are
			// replaced by rename, never appended to.
			return b, nil
		}
		b = append(b, 0)[:len(b)] // grow
	}
}

// refresh turns a "running" record whose process is gone (or whose pid now
// belongs to another process) into an exited one, in memory only.
func (c *Container) refresh() {
	if !c.Status.Up() {
		return
	}
	if c.Pid > 0 && proc.Alive(c.Pid, c.PidStartTime) {
		return
	}
	c.Status = Exited
	c.ExitCode = UnknownExit
	c.Pid = 0
	c.Network = nil
	c.Orphaned = true
}

// Delete removes c's directory (record, config, overlay dirs) and its name.
// The record goes first so that a half-removed container is never listed.
func Delete(root, runRoot string, c *Container) error {
	dir, err := Dir(root, c.ID)
	if err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(dir, "state.json")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove container %s: %w", shortid.Of(c.ID), err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove container %s: %w (remove %s by hand)", shortid.Of(c.ID), err, dir)
	}
	os.RemoveAll(RunDir(runRoot, c.ID)) // a live monitor keeps its lock: flock holds the inode
	return ReleaseName(root, runRoot, c.Name, c.ID)
}
