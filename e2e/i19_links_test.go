package e2e

// Issue 19's --link NAME[:ALIAS] on the default bridge, against the real
// binary in the harness's network namespace (i14_netns_test.go): docker's
// /etc/hosts entry and ALIAS_* variables, the linked container reached by
// its alias, and docker's errors for a link to a container that does not
// exist (nothing created) or does not run (the start fails).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// i19linksBuilt is the linked-to image of each store, built once.
var i19linksBuilt sync.Map // *store -> func() (string, error)

// i19linksImage is the test program's image (i14e2eImage) with EXPOSE and
// ENV, built by skiff build in st: what a link's variables are made of.
func i19linksImage(t *testing.T, st *store) string {
	t.Helper()
	base := i14e2eImage(t)
	build, _ := i19linksBuilt.LoadOrStore(st, sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "i19links")
		if err != nil {
			return "", err
		}
		defer os.RemoveAll(dir)
		df := fmt.Sprintf("FROM %s\nEXPOSE 80 6000-6001/udp\nENV DBPASS=secret HOME=/home/db\n", base)
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			return "", err
		}
		const tag = "i19links-db:latest"
		if r := st.skiff(nil, "build", "-q", "-t", tag, dir); r.code != 0 {
			return "", fmt.Errorf("build: %v", r)
		}
		return tag, nil
	}))
	ref, err := build.(func() (string, error))()
	if err != nil {
		t.Fatalf("the linked-to image: %v", err)
	}
	return ref
}

// i19linksServe runs the linked-to container: the test program's TCP
// server on :80, listening when this returns. It returns the id and
// what a link shows of it: its address and hostname.
func i19linksServe(t *testing.T, st *store, name string) (id, ip, hostname string) {
	t.Helper()
	img := i19linksImage(t, st)
	id = i14e2eRunD(t, st, "--name", name, img, "i14netprog", "tcp-serve", ":80")
	waitLogs(t, st, id, "listening")
	return id, i14e2eInspectNet(t, st, id).NetworkSettings.IPAddress, st.inspect(t, id).Config.Hostname
}

// A link gives docker's hosts entry (alias, hostname, then the name when
// it is not the alias) and variables (the alias upper-cased, '-' as '_'),
// and reaches the linked container's server by the alias.
func TestI19LinkHostsEnvAndReach(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	db := uniqueName(t)
	_, ip, host := i19linksServe(t, st, db)
	dbVar := strings.ToUpper(strings.ReplaceAll(db, "-", "_"))
	tests := []struct {
		name, link, alias, prefix, hostsLine string
	}{
		{"alias", db + ":dbalias", "dbalias", "DBALIAS", ip + "\tdbalias " + host + " " + db},
		{"name only", db, db, dbVar, ip + "\t" + db + " " + host},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			web := uniqueName(t)
			r := st.must(t, "run", "--rm", "--name", web, "--dns", i14e2eUpstreamDNS, "--link", tt.link, i19linksImage(t, st),
				"sh", "-c", "cat /etc/hosts; echo @@; env; echo @@; i14netprog tcp-dial "+tt.alias+":80")
			hosts, rest, _ := strings.Cut(r.stdout, "@@\n")
			env, dial, _ := strings.Cut(rest, "@@\n")
			if !strings.Contains("\n"+hosts, "\n"+tt.hostsLine+"\n") {
				t.Errorf("/etc/hosts has no %q:\n%s", tt.hostsLine, hosts)
			}
			p := tt.prefix
			for _, want := range []string{
				p + "_PORT=tcp://" + ip + ":80",
				p + "_PORT_80_TCP=tcp://" + ip + ":80",
				p + "_PORT_80_TCP_ADDR=" + ip,
				p + "_PORT_80_TCP_PORT=80",
				p + "_PORT_80_TCP_PROTO=tcp",
				p + "_PORT_6001_UDP=udp://" + ip + ":6001",
				p + "_PORT_6000_UDP_START=udp://" + ip + ":6000",
				p + "_PORT_6000_UDP_PORT_START=6000",
				p + "_PORT_6000_UDP_END=udp://" + ip + ":6001",
				p + "_PORT_6000_UDP_PORT_END=6001",
				p + "_NAME=/" + web + "/" + tt.alias,
				p + "_ENV_DBPASS=secret",
			} {
				if !strings.Contains("\n"+env, "\n"+want+"\n") {
					t.Errorf("env has no %s:\n%s", want, env)
				}
			}
			for _, unwanted := range []string{p + "_ENV_PATH=", p + "_ENV_HOME=", p + "_ENV_HOSTNAME="} {
				if strings.Contains(env, unwanted) {
					t.Errorf("env has %s..., which docker leaves out:\n%s", unwanted, env)
				}
			}
			if !strings.HasSuffix(strings.TrimSpace(dial), " to "+ip+":80") {
				t.Errorf("tcp-dial %s:80 got %q, want the linked server at %s:80", tt.alias, dial, ip)
			}
		})
	}
}

// docker's exec makes its environment as a start does: the link's
// variables too; the container's own -e wins over a link's.
func TestI19LinkExecEnv(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	db := uniqueName(t)
	_, ip, _ := i19linksServe(t, st, db)
	web := i14e2eRunD(t, st, "-e", "DBALIAS_NAME=mine", "--link", db+":dbalias", i19linksImage(t, st), "sleep", "60")
	for _, argv := range [][]string{{"exec", web, "env"}, {"exec", "-e", "X=1", web, "env"}} {
		env := st.must(t, argv...).stdout
		for _, want := range []string{"DBALIAS_PORT=tcp://" + ip + ":80", "DBALIAS_NAME=mine"} {
			if !strings.Contains("\n"+env, "\n"+want+"\n") {
				t.Errorf("%s: no %s in\n%s", strings.Join(argv, " "), want, env)
			}
		}
	}
}

// A linked container that starts again on another address: the linking
// container's /etc/hosts entry follows, as docker updates it.
func TestI19LinkTargetRestart(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	db := uniqueName(t)
	dbID := i14e2eRunD(t, st, "--name", db, img, "sleep", "60")
	web := i14e2eRunD(t, st, "--link", db+":dbalias", img, "sleep", "60")
	old := i14e2eInspectNet(t, st, dbID).NetworkSettings.IPAddress
	st.must(t, "stop", "-t", "0", dbID)
	// Addresses are the lowest free at each start: containers started
	// until one holds db's old address make db's next one another.
	for i := 0; ; i++ {
		id := i14e2eRunD(t, st, img, "sleep", "60")
		if i14e2eInspectNet(t, st, id).NetworkSettings.IPAddress == old {
			break
		}
		if i == 20 {
			t.Fatalf("20 containers started and none got %s", old)
		}
	}
	st.must(t, "start", dbID)
	ip := i14e2eInspectNet(t, st, dbID).NetworkSettings.IPAddress
	hosts := st.must(t, "exec", web, "cat", "/etc/hosts").stdout
	if !strings.Contains(hosts, ip+"\tdbalias ") || strings.Contains(hosts, old+"\tdbalias ") {
		t.Errorf("%s started again on %s (was %s); the linking container's /etc/hosts:\n%s", db, ip, old, hosts)
	}
}

// On a user network a link is a name that only the linking container's
// DNS responder answers, with the linked container's address there.
func TestI19LinkUserNetwork(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	net, db := uniqueName(t), uniqueName(t)
	st.must(t, "network", "create", net)
	t.Cleanup(func() { st.skiff(nil, "network", "rm", net) }) // after the containers' removal
	// --dns 127.0.0.1: names the responder does not know fail at once,
	// never reaching the host's resolvers.
	id := st.runD(t, "--dns", "127.0.0.1", "--network", net, "--name", db, img, "i14netprog", "tcp-serve", ":80")
	waitLogs(t, st, id, "listening")
	ip := i14e2eInspectNet(t, st, id).NetworkSettings.Networks[net].IPAddress
	dial := []string{"run", "--rm", "--dns", "127.0.0.1", "--network", net}
	r := st.must(t, append(dial, "--link", db+":dbalias", img, "i14netprog", "tcp-dial", "dbalias:80")...)
	if ip == "" || !strings.HasSuffix(strings.TrimSpace(r.stdout), " to "+ip+":80") {
		t.Errorf("tcp-dial dbalias:80 with the link got %q, want the server at %s:80", r.stdout, ip)
	}
	if r := st.skiff(nil, append(dial, img, "i14netprog", "tcp-dial", "dbalias:80")...); r.code == 0 {
		t.Errorf("a container without the link resolved dbalias: %v", r)
	}
}

// A link to a container that does not exist: docker's error, exit 125,
// and nothing created (the name stays free).
func TestI19LinkMissing(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	missing := uniqueName(t)
	for _, verb := range []string{"run", "create"} {
		t.Run(verb, func(t *testing.T) {
			web := uniqueName(t)
			args := []string{verb, "--name", web, "--link", missing + ":x", img, "true"}
			if verb == "run" {
				args = append([]string{verb, "--rm"}, args[1:]...)
			}
			r := st.skiff(nil, args...)
			runError(t, r, 125)
			// skiff's run and create name themselves before docker's sentence.
			want := "skiff: " + verb + ": could not get container for " + missing + ": No such container: " + missing
			if got := strings.TrimSpace(r.stderr); got != want {
				t.Errorf("stderr %q, want %q", got, want)
			}
			if r := st.skiff(nil, "inspect", web); r.code == 0 {
				st.skiff(nil, "rm", "-f", web)
				t.Errorf("a %s that failed on its link left container %s behind", verb, web)
			}
		})
	}
}

// A link to a container that is not running: the start fails with
// docker's error (run: 125; start: 1), and succeeds once the linked
// container runs, with its address.
func TestI19LinkStopped(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	img := i19linksImage(t, st)
	db, web := uniqueName(t), uniqueName(t)
	dbID := st.create(t, "--name", db, img, "i14netprog", "tcp-serve", ":80")
	want := fmt.Sprintf("Cannot link to a non running container: /%s AS /%s/dbalias", db, web)

	r := st.skiff(nil, "run", "--name", web, "--dns", i14e2eUpstreamDNS, "--link", db+":dbalias", img,
		"sh", "-c", "grep dbalias /etc/hosts; echo $DBALIAS_PORT")
	st.cleanup(t, web)
	runError(t, r, 125)
	if got := strings.TrimSpace(r.stderr); got != "skiff: "+want {
		t.Errorf("run: stderr %q, want %q", got, "skiff: "+want)
	}
	// docker's start: the daemon's error, then which containers failed.
	wantStart := "skiff: Error response from daemon: " + want + "\nskiff: failed to start containers: " + web + "\n"
	if r := st.skiff(nil, "start", web); r.code != 1 || r.stderr != wantStart {
		t.Errorf("start with the linked container stopped: want exit 1 and %q; %v", wantStart, r)
	}

	st.must(t, "start", dbID)
	waitLogs(t, st, dbID, "listening")
	ip := i14e2eInspectNet(t, st, dbID).NetworkSettings.IPAddress
	out := st.must(t, "start", "-a", web).stdout
	if !strings.Contains(out, ip+"\tdbalias ") || !strings.Contains(out, "tcp://"+ip+":80") {
		t.Errorf("start -a once %s runs: want its address %s in the hosts entry and DBALIAS_PORT; got %q", db, ip, out)
	}
}
