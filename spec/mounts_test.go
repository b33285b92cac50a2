package spec

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/state"
)

func TestParseVolume(t *testing.T) {
	cwd, _ := os.Getwd()
	tests := []struct {
		raw     string
		want    state.Mount
		relabel bool
		err     string
	}{
		{raw: "/h:/c", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rprivate", Origin: "bind"}},
		{raw: "/h/:/c/:ro", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", ReadOnly: true, Propagation: "rprivate", Mode: "ro", Origin: "bind"}},
		{raw: "/h:/c:rw,rshared", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rshared", Mode: "rw,rshared", Origin: "bind"}},
		{raw: "/h:/c:ro,Z", relabel: true, want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", ReadOnly: true, Propagation: "rprivate", Mode: "ro,Z", Origin: "bind"}},
		{raw: "./rel:/c", want: state.Mount{Type: "bind", Source: filepath.Join(cwd, "rel"), Destination: "/c", Propagation: "rprivate", Origin: "bind"}},
		{raw: "name:/c", want: state.Mount{Type: "volume", Name: "name", Destination: "/c", Origin: "bind"}},
		{raw: "name:/c:ro,nocopy", want: state.Mount{Type: "volume", Name: "name", Destination: "/c", ReadOnly: true, NoCopy: true, Mode: "ro,nocopy", Origin: "bind"}},
		{raw: "/c", want: state.Mount{Type: "volume", Destination: "/c", Anonymous: true, Origin: "bind"}},
		// podman's U (chown the source to the container's user) and idmap.
		{raw: "/h:/c:U", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rprivate", Mode: "U", Origin: "bind", Chown: true}},
		{raw: "/h:/c:ro,U,rshared", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", ReadOnly: true, Propagation: "rshared", Mode: "ro,U,rshared", Origin: "bind", Chown: true}},
		{raw: "name:/c:U,nocopy", want: state.Mount{Type: "volume", Name: "name", Destination: "/c", NoCopy: true, Mode: "U,nocopy", Origin: "bind", Chown: true}},
		{raw: "/h:/c:idmap", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rprivate", Mode: "idmap", Origin: "bind", IDMap: true}},
		{raw: "/h:/c:U,U", err: "invalid mode: U,U"},
		{raw: "/h:/c:u", err: "invalid mode: u"},
		{raw: "/h:/c:idmap,idmap", err: "invalid mode: idmap,idmap"},
		{raw: "/c:U", err: "invalid volume specification: '/c:U'"},
		{raw: "", err: "invalid volume specification: ''"},
		{raw: ":/c", err: "invalid volume specification: ':/c'"},
		{raw: "/c:rw", err: "invalid volume specification: '/c:rw'"},
		{raw: "/a:/b:/c:/d", err: "invalid volume specification: '/a:/b:/c:/d'"},
		{raw: "/h:/c:bogus", err: "invalid mode: bogus"},
		{raw: "/h:/c:ro,rw", err: "invalid mode: ro,rw"},
		{raw: "/h:rel", err: `invalid volume specification: '/h:rel': invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{raw: "/h:/", err: `invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`},
		{raw: "/h:", err: "invalid volume specification: '/h:'"}, // an empty mode is a valid one: docker's reading
		{raw: "/h::ro", err: `invalid volume specification: '/h::ro': invalid mount config for type "bind": field Target must not be empty`},
		{raw: "name:/c:shared", err: `invalid volume specification: 'name:/c:shared': invalid mount config for type "volume": field BindOptions must not be specified`},
		{raw: "rel", err: `invalid volume specification: 'rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, relabel, err := ParseVolume(tt.raw)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) || relabel != tt.relabel {
				t.Fatalf("got %+v %v %v, want %+v %v", got, relabel, err, tt.want, tt.relabel)
			}
		})
	}
}

func TestParseMount(t *testing.T) {
	tests := []struct {
		raw  string
		want state.Mount
		err  string
	}{
		{raw: "type=bind,source=/h,target=/c", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rprivate", Origin: "mount"}},
		{raw: "type=bind,src=/h,dst=/c,readonly,bind-propagation=rslave", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", ReadOnly: true, Propagation: "rslave", Origin: "mount"}},
		{raw: "type=bind,src=/h,destination=/c,ro=false", want: state.Mount{Type: "bind", Source: "/h", Destination: "/c", Propagation: "rprivate", Origin: "mount"}},
		{raw: "source=v,target=/c,volume-nocopy", want: state.Mount{Type: "volume", Name: "v", Destination: "/c", NoCopy: true, Origin: "mount"}},
		{raw: "type=volume,target=/c", want: state.Mount{Type: "volume", Destination: "/c", Anonymous: true, Origin: "mount"}},
		{raw: "type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770", want: state.Mount{Type: "tmpfs", Destination: "/t", Options: []string{"mode=1770", "size=64m"}, Origin: "mount"}},
		{raw: "type=tmpfs,target=/t,tmpfs-size=1000", want: state.Mount{Type: "tmpfs", Destination: "/t", Options: []string{"size=1000"}, Origin: "mount"}},
		{raw: "type=bind,source=/h", err: `invalid argument "type=bind,source=/h" for "--mount" flag: target is required`},
		{raw: "type=bind,target=/c,bogus", err: `invalid argument "type=bind,target=/c,bogus" for "--mount" flag: invalid field 'bogus' must be a key=value pair`},
		{raw: "type=bind,target=/c,foo=bar", err: `invalid argument "type=bind,target=/c,foo=bar" for "--mount" flag: unexpected key 'foo' in 'foo=bar'`},
		{raw: "type=bind,target=/c,readonly=maybe", err: `invalid argument "type=bind,target=/c,readonly=maybe" for "--mount" flag: invalid value for readonly: maybe`},
		{raw: "type=bind,target=/c,tmpfs-size=1m", err: `invalid argument "type=bind,target=/c,tmpfs-size=1m" for "--mount" flag: cannot mix 'tmpfs-*' options with mount type 'bind'`},
		{raw: "type=tmpfs,target=/c,volume-nocopy", err: `invalid argument "type=tmpfs,target=/c,volume-nocopy" for "--mount" flag: cannot mix 'volume-*' options with mount type 'tmpfs'`},
		{raw: "type=tmpfs,target=/c,tmpfs-mode=9", err: `invalid argument "type=tmpfs,target=/c,tmpfs-mode=9" for "--mount" flag: invalid value for tmpfs-mode: 9`},
		{raw: "type=bind,target=/c", err: `invalid mount config for type "bind": field Source must not be empty`},
		{raw: "type=bind,source=rel,target=/c", err: `invalid mount config for type "bind": invalid mount path: 'rel' mount path must be absolute`},
		{raw: "type=bind,source=/h,target=c", err: `invalid mount config for type "bind": invalid mount path: 'c' mount path must be absolute`},
		{raw: "type=bind,source=/h,target=/c,bind-propagation=odd", err: `invalid mount config for type "bind": invalid propagation mode: odd`},
		{raw: "type=volume,target=/c,readonly", err: `invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes`},
		{raw: "type=tmpfs,source=x,target=/c", err: `invalid mount config for type "tmpfs": field Source must not be specified`},
		{raw: "type=npipe,target=/c", err: `invalid mount config for type "npipe": mount type unknown`},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseMount(tt.raw)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseMounts(t *testing.T) {
	h, relabel, err := ParseMounts(MountFlags{
		Volumes: []string{"/h:/a:z", "v:/b", "/c"}, Mounts: []string{"type=tmpfs,dst=/d"},
		Tmpfs: []string{"/e:size=1m,exec"}, VolumesFrom: []string{"other:ro"}, ReadOnly: true,
	})
	if err != nil || !relabel {
		t.Fatalf("err %v relabel %v", err, relabel)
	}
	want := state.Host{
		Mounts: []state.Mount{
			{Type: "bind", Source: "/h", Destination: "/a", Propagation: "rprivate", Mode: "z", Origin: "bind"},
			{Type: "volume", Name: "v", Destination: "/b", Origin: "bind"},
			{Type: "volume", Destination: "/c", Anonymous: true, Origin: "bind"},
			{Type: "tmpfs", Destination: "/d", Origin: "mount"},
			{Type: "tmpfs", Destination: "/e", Options: []string{"size=1m", "exec"}, Origin: "tmpfs"},
		},
		Binds: []string{"/h:/a:z", "v:/b"}, Tmpfs: map[string]string{"/e": "size=1m,exec"},
		VolumesFrom: []string{"other:ro"}, ReadonlyRootfs: true,
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("got %+v\nwant %+v", h, want)
	}
	for _, f := range []MountFlags{
		{Volumes: []string{"/h:/data", "v:/data/"}},
		{Volumes: []string{"/h:/data"}, Mounts: []string{"type=volume,target=/data"}},
		{Volumes: []string{"/h:/data"}, Tmpfs: []string{"/data"}},
	} {
		if _, _, err := ParseMounts(f); err == nil || err.Error() != "Duplicate mount point: /data" {
			t.Errorf("%+v: err %v, want Duplicate mount point: /data", f, err)
		}
	}
	for _, f := range []struct {
		flags MountFlags
		err   string
	}{
		{MountFlags{VolumesFrom: []string{""}}, "volumes-from specification cannot be an empty string"},
		{MountFlags{VolumesFrom: []string{"c:shared"}}, "invalid mode: shared"},
		{MountFlags{VolumesFrom: []string{"c:nocopy"}}, "invalid mode: nocopy"},
		{MountFlags{Tmpfs: []string{"/"}}, "invalid specification: destination can't be '/'"},
		{MountFlags{Tmpfs: []string{"rel:size=1m"}}, "invalid mount path: 'rel' mount path must be absolute"},
	} {
		if _, _, err := ParseMounts(f.flags); err == nil || err.Error() != f.err {
			t.Errorf("%+v: err %v, want %q", f.flags, err, f.err)
		}
	}
}

func TestParseVolumesFrom(t *testing.T) {
	for raw, want := range map[string]struct {
		ref string
		ro  bool
	}{"c": {"c", false}, "c:ro": {"c", true}, "c:rw": {"c", false}, "c:ro,z": {"c", true}} {
		ref, ro, err := ParseVolumesFrom(raw)
		if err != nil || ref != want.ref || ro != want.ro {
			t.Errorf("%q: %q %v %v, want %+v", raw, ref, ro, err, want)
		}
	}
}

func TestRAMInBytes(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "64m": 64 << 20, "1g": 1 << 30, "2KiB": 2048, "1.5k": 1536, "3MB": 3 << 20} {
		if got, err := ramInBytes(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "-1", "1x", "1e3"} {
		if _, err := ramInBytes(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestAllMounts(t *testing.T) {
	in := Input{
		HostsFile: "/run/c/hosts", ReadonlyRootfs: true,
		Mounts: []state.Mount{
			{Type: "bind", Source: "/h/sub", Destination: "/etc/app/sub", ReadOnly: true},
			{Type: "volume", Name: "v", Source: "/vols/v/_data", Destination: "/etc/app"},
			{Type: "tmpfs", Destination: "/dev/shm", Options: []string{"size=1m", "exec"}},
			{Type: "volume", Name: "t", Source: "/vols/t/_data", Destination: "/t"},
		},
		VolumeSource: func(m state.Mount) (string, string, []string, error) {
			if m.Name == "t" {
				return "tmpfs", "tmpfs", []string{"size=2m"}, nil
			}
			return "bind", m.Source, nil, nil
		},
	}
	got, err := allMounts(in)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	byDest := map[string]specs.Mount{}
	for _, m := range got {
		dests = append(dests, m.Destination)
		byDest[m.Destination] = m
	}
	// /dev/shm is the user's: docker's own is left out. Parents first.
	wantDests := []string{"/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue",
		"/t", "/etc/app", "/dev/shm", "/etc/hosts", "/etc/app/sub"}
	if !reflect.DeepEqual(dests, wantDests) {
		t.Errorf("order %q\nwant  %q", dests, wantDests)
	}
	for dest, want := range map[string][]string{
		"/etc/app/sub": {"rbind", "rprivate", "ro"},
		"/etc/app":     {"rbind", "rprivate"},
		"/dev/shm":     {"nosuid", "nodev", "size=1m", "exec"},
		"/t":           {"noexec", "nosuid", "nodev", "size=2m"},
		"/etc/hosts":   {"rbind", "rprivate", "ro"},
	} {
		if got := byDest[dest].Options; !reflect.DeepEqual(got, want) {
			t.Errorf("%s options %q, want %q", dest, got, want)
		}
	}
	if byDest["/t"].Type != "tmpfs" || byDest["/etc/app"].Source != "/vols/v/_data" {
		t.Errorf("volume sources: %+v %+v", byDest["/t"], byDest["/etc/app"])
	}
}

func TestMergeTmpfsOptions(t *testing.T) {
	got := mergeTmpfsOptions([]string{"noexec", "nosuid", "nodev", "size=1m", "exec", "size=2m", "ro"})
	want := []string{"nosuid", "nodev", "exec", "size=2m", "ro"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A rootless container on the host's network or IPC namespace cannot
// mount a sysfs or an mqueue for it (the namespace is the host's user
// namespace's): the host's /sys is bound, no /dev/mqueue is mounted. With
// a namespace of its own, or as root, the mount is docker's.
func TestRootlessDefaultMounts(t *testing.T) {
	boundSys := specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
	sysfs := specs.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}}
	none := specs.Mount{Destination: "/dev/mqueue"} // not mounted
	mqueue := specs.Mount{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}}
	tests := []struct {
		name         string
		rootless     bool
		network, ipc string
		sys, mq      specs.Mount
	}{
		{"rootless, host network", true, NetworkHost, "", boundSys, mqueue},
		{"rootless, host IPC", true, NetworkNone, ModeHost, sysfs, none},
		{"rootless, own namespaces", true, NetworkNone, "", sysfs, mqueue},
		{"root, host namespaces", false, NetworkHost, ModeHost, sysfs, mqueue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Network: tt.network}
			o.Host.Security.IpcMode = tt.ipc
			got, err := allMounts(Input{Rootless: tt.rootless, Opts: o})
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []specs.Mount{tt.sys, tt.mq} {
				i := slices.IndexFunc(got, func(m specs.Mount) bool { return m.Destination == want.Destination })
				if want.Type == "" && i < 0 {
					continue
				}
				if i < 0 || !reflect.DeepEqual(got[i], want) {
					t.Errorf("%s: %+v, want %+v", want.Destination, got, want)
				}
			}
		})
	}
}
