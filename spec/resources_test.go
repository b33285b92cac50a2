package spec

import (
	"encoding/json"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

// TestResources: each limit's OCI form, as docker's daemon translates it.
func TestResources(t *testing.T) {
	ten := int64(10)
	for _, tc := range []struct {
		name string
		l    state.Limits
		want string
	}{
		{"none", state.Limits{}, "null"},
		{"kernel memory alone is not applied", state.Limits{KernelMemory: 50 << 20}, "null"},
		{"oom score alone is no cgroup limit", state.Limits{OomScoreAdj: 100}, "null"},
		{"memory", state.Limits{Memory: 64 << 20, MemorySwap: 128 << 20, MemoryReservation: 32 << 20, MemorySwappiness: &ten, OomKillDisable: true},
			`{"memory":{"limit":67108864,"reservation":33554432,"swap":134217728,"swappiness":10,"disableOOMKiller":true}}`},
		{"unlimited swap", state.Limits{Memory: 64 << 20, MemorySwap: -1}, `{"memory":{"limit":67108864,"swap":-1}}`},
		{"cpus over the default period", state.Limits{NanoCPUs: 1_500_000_000}, `{"cpu":{"quota":150000,"period":100000}}`},
		{"cpu shares, period, quota, cpuset", state.Limits{CPUShares: 512, CPUPeriod: 50000, CPUQuota: 25000, CpusetCpus: "0", CpusetMems: "0"},
			`{"cpu":{"shares":512,"quota":25000,"period":50000,"cpus":"0","mems":"0"}}`},
		{"pids", state.Limits{PidsLimit: 100}, `{"pids":{"limit":100}}`},
		{"blkio", state.Limits{BlkioWeight: 300, BlkioDeviceWriteBps: []state.ThrottleDevice{{Path: "/dev/loop0", Major: 7, Minor: 0, Rate: 1 << 20}},
			BlkioDeviceReadIOps: []state.ThrottleDevice{{Path: "/dev/loop0", Major: 7, Rate: 100}}},
			`{"blockIO":{"weight":300,"throttleWriteBpsDevice":[{"major":7,"minor":0,"rate":1048576}],"throttleReadIOPSDevice":[{"major":7,"minor":0,"rate":100}]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(Resources(tc.l))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
