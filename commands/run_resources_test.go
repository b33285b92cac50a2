package commands

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

func i16args(kv ...string) resourceArgs {
	a := resourceArgs{values: map[string]string{}, lists: map[string][]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.HasPrefix(kv[i], "device-") {
			a.lists[kv[i]] = append(a.lists[kv[i]], kv[i+1])
			continue
		}
		a.values[kv[i]] = kv[i+1]
	}
	return a
}

// TestParseLimitsRefused: every resource flag's checks, with docker's
// sentences (docker/cli opts and moby's verifyPlatformContainerResources).
func TestParseLimitsRefused(t *testing.T) {
	host := hostCPUs{n: 2, cpus: "0-1", mems: "0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"memory", "1m"}, "Minimum memory limit allowed is 6MB"},
		{[]string{"memory", "lots"}, `invalid argument "lots" for "--memory" flag: invalid size: 'lots'`},
		{[]string{"memory-swap", "64m"}, "You should always set the Memory limit when using Memoryswap limit, see usage"},
		{[]string{"memory", "64m", "memory-swap", "32m"}, "Minimum memoryswap limit should be larger than memory limit, see usage"},
		{[]string{"memory-swappiness", "101"}, "Invalid value: 101, valid memory swappiness range is 0-100"},
		{[]string{"memory-swappiness", "-2"}, "Invalid value: -2, valid memory swappiness range is 0-100"},
		{[]string{"memory-reservation", "1m"}, "Minimum memory reservation allowed is 6MB"},
		{[]string{"memory", "32m", "memory-reservation", "64m"}, "Minimum memory limit can not be less than memory reservation limit, see usage"},
		{[]string{"cpus", "3"}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{[]string{"cpus", "0.001"}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{[]string{"cpus", "-1"}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"},
		{[]string{"cpus", "one"}, `invalid argument "one" for "--cpus" flag: failed to parse one as a rational number`},
		{[]string{"cpus", "1", "cpu-period", "50000"}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"},
		{[]string{"cpus", "1", "cpu-quota", "50000"}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
		{[]string{"cpu-period", "999"}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{[]string{"cpu-period", "1000001"}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{[]string{"cpu-quota", "999"}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"},
		{[]string{"cpu-shares", "-1"}, "Invalid CPU shares (-1): value must be a positive integer"},
		{[]string{"cpuset-cpus", "0-a"}, "Invalid value 0-a for cpuset cpus"},
		{[]string{"cpuset-cpus", "0-3"}, "Requested CPUs are not available - requested 0-3, available: 0-1"},
		{[]string{"cpuset-mems", "1"}, "Requested memory nodes are not available - requested 1, available: 0"},
		{[]string{"cpuset-mems", "x"}, "Invalid value x for cpuset mems"},
		{[]string{"blkio-weight", "5"}, "Range of blkio weight is from 10 to 1000"},
		{[]string{"blkio-weight", "1001"}, "Range of blkio weight is from 10 to 1000"},
		{[]string{"pids-limit", "many"}, `invalid argument "many" for "--pids-limit" flag`},
		{[]string{"oom-score-adj", "1001"}, "Invalid value 1001, range for oom score adj is [-1000, 1000]"},
		{[]string{"oom-score-adj", "-1001"}, "Invalid value -1001, range for oom score adj is [-1000, 1000]"},
		{[]string{"device-write-bps", "/dev/null"}, "bad format: /dev/null"},
		{[]string{"device-write-bps", "sda:1mb"}, "bad format for device path: sda:1mb"},
		{[]string{"device-write-bps", "/dev/null:fast"}, "invalid rate for device: /dev/null:fast. The correct format is <device-path>:<number>[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"},
		{[]string{"device-read-iops", "/dev/null:1k"}, "invalid rate for device: /dev/null:1k. The correct format is <device-path>:<number>. Number must be a positive integer"},
		{[]string{"device-read-bps", "/dev/null:1mb"}, "/dev/null is not a block device"},
		{[]string{"device-read-bps", "/dev/i16-none:1mb"}, "/dev/i16-none: no such file or directory"},
	} {
		t.Run(strings.Join(tc.args, "="), func(t *testing.T) {
			_, _, err := parseLimits(i16args(tc.args...), state.Limits{}, host)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}

// TestParseLimitsAccepted: what each flag records (docker's HostConfig
// values) and docker's warnings.
func TestParseLimitsAccepted(t *testing.T) {
	host := hostCPUs{n: 2, cpus: "0-1", mems: "0"}
	i64 := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		args     []string
		want     state.Limits
		warnings int
	}{
		{[]string{"memory", "64m"}, state.Limits{Memory: 64 << 20, MemorySwap: 128 << 20}, 0},
		{[]string{"memory", "64m", "memory-swap", "-1"}, state.Limits{Memory: 64 << 20, MemorySwap: -1}, 0},
		{[]string{"memory", "64m", "memory-swap", "64m"}, state.Limits{Memory: 64 << 20, MemorySwap: 64 << 20}, 0},
		{[]string{"memory-reservation", "32m", "memory-swappiness", "10"}, state.Limits{MemoryReservation: 32 << 20, MemorySwappiness: i64(10)}, 0},
		{[]string{"memory-swappiness", "-1"}, state.Limits{}, 0},
		{[]string{"kernel-memory", "50m"}, state.Limits{KernelMemory: 50 << 20}, 1},
		{[]string{"oom-kill-disable", "true"}, state.Limits{OomKillDisable: true}, 1},
		{[]string{"oom-kill-disable", "true", "memory", "6m"}, state.Limits{OomKillDisable: true, Memory: 6 << 20, MemorySwap: 12 << 20}, 0},
		{[]string{"cpus", "1.5"}, state.Limits{NanoCPUs: 1_500_000_000}, 0},
		{[]string{"cpus", "2"}, state.Limits{NanoCPUs: 2_000_000_000}, 0},
		{[]string{"cpu-shares", "512", "cpu-period", "50000", "cpu-quota", "25000"}, state.Limits{CPUShares: 512, CPUPeriod: 50000, CPUQuota: 25000}, 0},
		{[]string{"cpu-quota", "-1"}, state.Limits{CPUQuota: -1}, 0},
		{[]string{"cpuset-cpus", "0,1", "cpuset-mems", "0"}, state.Limits{CpusetCpus: "0,1", CpusetMems: "0"}, 0},
		{[]string{"pids-limit", "100"}, state.Limits{PidsLimit: 100}, 0},
		{[]string{"pids-limit", "-5"}, state.Limits{PidsLimit: -1}, 0},
		{[]string{"oom-score-adj", "500"}, state.Limits{OomScoreAdj: 500}, 0}, // lowering it needs CAP_SYS_RESOURCE: see e2e
	} {
		t.Run(strings.Join(tc.args, "="), func(t *testing.T) {
			got, warnings, err := parseLimits(i16args(tc.args...), state.Limits{}, host)
			if err != nil {
				t.Fatal(err)
			}
			if !limitsEqual(got, tc.want) || len(warnings) != tc.warnings {
				t.Fatalf("got %+v %q, want %+v and %d warnings", got, warnings, tc.want, tc.warnings)
			}
		})
	}
}

func limitsEqual(a, b state.Limits) bool {
	if (a.MemorySwappiness == nil) != (b.MemorySwappiness == nil) ||
		a.MemorySwappiness != nil && *a.MemorySwappiness != *b.MemorySwappiness {
		return false
	}
	a.MemorySwappiness, b.MemorySwappiness = nil, nil
	return strings.EqualFold(fmtLimits(a), fmtLimits(b))
}

func fmtLimits(l state.Limits) string {
	return strings.ReplaceAll(strings.TrimSpace(fmtAny(l)), " ", "")
}

// TestParseLimitsWarnings: docker's exact words.
func TestParseLimitsWarnings(t *testing.T) {
	_, w, _ := parseLimits(i16args("kernel-memory", "50m"), state.Limits{}, hostCPUs{n: 1})
	if len(w) != 1 || w[0] != "Specifying a kernel memory limit is deprecated and will be removed in a future release." {
		t.Fatalf("warnings %q", w)
	}
	_, w, _ = parseLimits(i16args("oom-kill-disable", "true"), state.Limits{}, hostCPUs{n: 1})
	if len(w) != 1 || w[0] != "Disabling the OOM killer on containers without setting a '-m/--memory' limit may be dangerous." {
		t.Fatalf("warnings %q", w)
	}
}

// TestParseLimitsUpdate: update's flags on top of the recorded limits.
func TestParseLimitsUpdate(t *testing.T) {
	base := state.Limits{Memory: 64 << 20, MemorySwap: 128 << 20, PidsLimit: 50}
	got, _, err := parseLimits(i16args("memory", "96m"), base, hostCPUs{n: 1})
	if err != nil || got.Memory != 96<<20 || got.MemorySwap != 128<<20 || got.PidsLimit != 50 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, _, err := parseLimits(i16args("memory", "256m"), base, hostCPUs{n: 1}); err == nil ||
		err.Error() != "Conflicting options: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time" {
		t.Fatalf("err %v", err)
	}
	got, _, err = parseLimits(i16args("memory", "256m", "memory-swap", "1g"), base, hostCPUs{n: 1})
	if err != nil || got.Memory != 256<<20 || got.MemorySwap != 1<<30 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, _, err := parseLimits(i16args("memory-swap", "32m"), base, hostCPUs{n: 1}); err == nil ||
		err.Error() != "Minimum memoryswap limit should be larger than memory limit, see usage" {
		t.Fatalf("err %v", err)
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%+v", v) }
