package commands

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/state"
)

// The documents `inspect` prints, with docker's keys in docker's order
// (moby's api/types, v28) and docker's zero values where skiff has nothing
// yet: null where docker leaves a field unset, [] or {} where docker's CLI
// or daemon fills an empty one. Every key a docker template may name is a
// field here, so no template fails with "can't evaluate field".

// containerInspect is docker's container inspect document.
type containerInspect struct {
	Id              string
	Created         string
	Path            string
	Args            []string
	State           containerState
	Image           string
	ResolvConfPath  string
	HostnamePath    string
	HostsPath       string
	LogPath         string
	Name            string
	RestartCount    int
	Driver          string
	Platform        string
	MountLabel      string
	ProcessLabel    string
	AppArmorProfile string
	ExecIDs         []string
	HostConfig      hostConfig
	GraphDriver     graphDriver
	SizeRw          *int64 `json:",omitempty"` // only with --size
	SizeRootFs      *int64 `json:",omitempty"`
	Mounts          []mountPoint
	Config          dockerConfig
	NetworkSettings networkSettings
}

type containerState struct {
	Status     string
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  string
	FinishedAt string
	// Health is nil as docker's for a container without a health check
	// (skiff runs none yet): absent from the JSON.
	Health *containerHealth `json:",omitempty"`
}

type containerHealth struct {
	Status        string
	FailingStreak int
	Log           []any
}

// hostConfig is docker's HostConfig with its Resources flattened in place,
// as the JSON shows them.
type hostConfig struct {
	Binds           []string
	ContainerIDFile string
	LogConfig       logConfig
	NetworkMode     string
	PortBindings    map[string][]portBinding
	RestartPolicy   state.RestartPolicy
	AutoRemove      bool
	VolumeDriver    string
	VolumesFrom     []string
	ConsoleSize     [2]uint
	Annotations     map[string]string `json:",omitempty"`
	CapAdd          []string
	CapDrop         []string
	CgroupnsMode    string
	Dns             []string
	DnsOptions      []string
	DnsSearch       []string
	ExtraHosts      []string
	GroupAdd        []string
	IpcMode         string
	Cgroup          string
	Links           []string
	OomScoreAdj     int
	PidMode         string
	Privileged      bool
	PublishAllPorts bool
	ReadonlyRootfs  bool
	SecurityOpt     []string
	StorageOpt      map[string]string `json:",omitempty"`
	Tmpfs           map[string]string `json:",omitempty"`
	UTSMode         string
	UsernsMode      string
	ShmSize         int64
	Sysctls         map[string]string `json:",omitempty"`
	Runtime         string            `json:",omitempty"`
	Isolation       string

	// docker's Resources.
	CpuShares            int64
	Memory               int64
	NanoCpus             int64
	CgroupParent         string
	BlkioWeight          uint16
	BlkioWeightDevice    []any
	BlkioDeviceReadBps   []any
	BlkioDeviceWriteBps  []any
	BlkioDeviceReadIOps  []any
	BlkioDeviceWriteIOps []any
	CpuPeriod            int64
	CpuQuota             int64
	CpuRealtimePeriod    int64
	CpuRealtimeRuntime   int64
	CpusetCpus           string
	CpusetMems           string
	Devices              []any
	DeviceCgroupRules    []string
	DeviceRequests       []any
	KernelMemory         int64 `json:",omitempty"`
	KernelMemoryTCP      int64 `json:",omitempty"`
	MemoryReservation    int64
	MemorySwap           int64
	MemorySwappiness     *int64
	OomKillDisable       *bool
	PidsLimit            *int64
	Ulimits              []any
	CpuCount             int64
	CpuPercent           int64
	IOMaximumIOps        uint64
	IOMaximumBandwidth   uint64

	Mounts        []mountSpec `json:",omitempty"`
	MaskedPaths   []string
	ReadonlyPaths []string
	Init          *bool `json:",omitempty"`
}

type logConfig struct {
	Type   string
	Config map[string]string
}

type portBinding struct {
	HostIp   string
	HostPort string
}

// networkSettings is docker's NetworkSettings: its deprecated top-level
// bridge fields, then one entry per network the container is in.
type networkSettings struct {
	Bridge                 string
	SandboxID              string
	SandboxKey             string
	Ports                  map[string][]portBinding
	HairpinMode            bool
	LinkLocalIPv6Address   string
	LinkLocalIPv6PrefixLen int
	SecondaryIPAddresses   []any
	SecondaryIPv6Addresses []any
	EndpointID             string
	Gateway                string
	GlobalIPv6Address      string
	GlobalIPv6PrefixLen    int
	IPAddress              string
	IPPrefixLen            int
	IPv6Gateway            string
	MacAddress             string
	Networks               map[string]*endpointSettings
}

type endpointSettings struct {
	IPAMConfig          *struct{ IPv4Address, IPv6Address string }
	Links               []string
	Aliases             []string
	MacAddress          string
	DriverOpts          map[string]string
	GwPriority          int
	NetworkID           string
	EndpointID          string
	Gateway             string
	IPAddress           string
	IPPrefixLen         int
	IPv6Gateway         string
	GlobalIPv6Address   string
	GlobalIPv6PrefixLen int
	DNSNames            []string
}

// dockerConfig is docker's container Config, which image inspect also
// prints as an image's Config.
type dockerConfig struct {
	Hostname        string
	Domainname      string
	User            string
	AttachStdin     bool
	AttachStdout    bool
	AttachStderr    bool
	ExposedPorts    map[string]struct{} `json:",omitempty"`
	Tty             bool
	OpenStdin       bool
	StdinOnce       bool
	Env             []string
	Cmd             []string
	Healthcheck     *v1.HealthConfig `json:",omitempty"`
	ArgsEscaped     bool             `json:",omitempty"`
	Image           string
	Volumes         map[string]struct{}
	WorkingDir      string
	Entrypoint      []string
	NetworkDisabled bool   `json:",omitempty"`
	MacAddress      string `json:",omitempty"`
	OnBuild         []string
	Labels          map[string]string
	StopSignal      string   `json:",omitempty"`
	StopTimeout     *int     `json:",omitempty"`
	Shell           []string `json:",omitempty"`
}

type graphDriver struct {
	Data map[string]string
	Name string
}

// imageInspect is docker's image inspect document.
type imageInspect struct {
	Id            string
	RepoTags      []string
	RepoDigests   []string
	Parent        string
	Comment       string
	Created       string `json:",omitempty"`
	DockerVersion string
	Author        string
	Config        dockerConfig
	Architecture  string
	Variant       string `json:",omitempty"`
	Os            string
	OsVersion     string `json:",omitempty"`
	Size          int64
	GraphDriver   graphDriver
	RootFS        rootFS
	Metadata      struct{ LastTagTime string }
}

type rootFS struct {
	Type   string
	Layers []string `json:",omitempty"`
}

// graphDriverName is docker's name for the storage skiff uses: overlay
// lowerdirs per layer, an upper and work dir per container.
const graphDriverName = "overlay2"
