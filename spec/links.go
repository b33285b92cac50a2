package spec

// docker's legacy links (--link NAME[:ALIAS], moby's daemon/links): the
// flag's parse, the /etc/hosts entry and the environment variables a
// linked container's name, address, exposed ports and environment become.
// Pure: the container package reads the records at each start.

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// ParseLink is docker's parse of --link NAME[:ALIAS]: ALIAS is NAME when
// none is given. HostConfig.Links' own form "/NAME:/SELF/ALIAS" is read
// too, as docker reads it back from a created container.
func ParseLink(v string) (name, alias string, err error) {
	if v == "" {
		return "", "", errors.New("empty string specified for links")
	}
	parts := strings.Split(v, ":")
	switch {
	case len(parts) > 2:
		return "", "", fmt.Errorf("bad format for links: %s", v)
	case len(parts) == 1:
		return v, v, nil
	case strings.HasPrefix(parts[0], "/"):
		_, alias := path.Split(parts[1])
		return parts[0][1:], alias, nil
	}
	return parts[0], parts[1], nil
}

// LinkName is docker's name of a link as the linking container sees it,
// "/SELF/ALIAS" (its HostConfig.Links entries, ALIAS_NAME, its errors).
func LinkName(self, alias string) string { return path.Join("/", self, alias) }

// LinkTarget is what a link shows of the linked container.
type LinkTarget struct {
	Name     string // its name, without docker's leading '/'
	Hostname string
	IP       string // its address on the default bridge
	// ExposedPorts are its image's EXPOSE and --expose ("80/tcp", "53/udp").
	ExposedPorts map[string]struct{}
	// Env is its configured environment (the record's Config.Env).
	Env []string
}

// LinkHost is the link's /etc/hosts entry in --add-host's "NAMES:IP" form
// (HostsInput.ExtraHosts), as docker adds a link as an extra host: the
// alias, the target's hostname, and its name when that differs from the
// alias.
func LinkHost(alias string, t LinkTarget) string {
	names := alias + " " + t.Hostname
	if alias != t.Name {
		names += " " + t.Name
	}
	return names + ":" + t.IP
}

// UpdateHostsEntry is an /etc/hosts file with the address of the entries
// whose first name is alias (a link's, LinkHost) replaced by ip: docker's
// update of a link when the linked container starts again.
func UpdateHostsEntry(hosts, alias, ip string) string {
	lines := strings.SplitAfter(hosts, "\n")
	for i, line := range lines {
		addr, names, ok := strings.Cut(line, "\t")
		if !ok || addr == ip {
			continue
		}
		if first, _, _ := strings.Cut(strings.TrimRight(names, "\n"), " "); first == alias {
			lines[i] = ip + "\t" + names
		}
	}
	return strings.Join(lines, "")
}

// linkEnvIgnored are the target's variables docker leaves out of
// ALIAS_ENV_*: set by docker build or by the runtime (docker's Config.Env
// has no HOSTNAME; skiff's record does), not the target's own settings.
var linkEnvIgnored = []string{"HOME", "HOSTNAME", "PATH"}

// LinkEnv are docker's variables for the link name ("/SELF/ALIAS",
// LinkName) to target t: ALIAS_PORT (the first of its exposed ports, TCP
// first, by number), for each port ALIAS_PORT_<N>_<PROTO> and its _ADDR,
// _PORT and _PROTO, for each run of consecutive ports _START, _PORT_START,
// _END and _PORT_END, then ALIAS_NAME and ALIAS_ENV_<K> for t's
// environment. ALIAS is the alias upper-cased with '-' as '_'.
func LinkEnv(name string, t LinkTarget) []string {
	prefix := strings.ReplaceAll(strings.ToUpper(path.Base(name)), "-", "_")
	ports := linkPorts(t.ExposedPorts)
	var env []string
	if len(ports) > 0 {
		env = append(env, prefix+"_PORT="+ports[0].url(t.IP))
	}
	run := 0 // index of the first port of the current run of consecutive ports
	for i, p := range ports {
		env = append(env, p.vars(prefix, t.IP)...)
		if i == 0 {
			continue
		}
		if p.follows(ports[i-1]) {
			if i == len(ports)-1 {
				env = append(env, rangeVars(prefix, t.IP, ports[run], p)...)
			}
			continue
		}
		// docker names a run once the port after it is seen, after that
		// port's own variables.
		if i-1 > run {
			env = append(env, rangeVars(prefix, t.IP, ports[run], ports[i-1])...)
		}
		run = i
	}
	env = append(env, prefix+"_NAME="+name)
	for _, kv := range t.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || slices.Contains(linkEnvIgnored, k) {
			continue
		}
		env = append(env, prefix+"_ENV_"+k+"="+v)
	}
	return env
}

// linkPort is one exposed port.
type linkPort struct {
	num   int
	proto string
}

// linkPorts are the exposed ports ("80/tcp"; no protocol: tcp) in docker's
// order: TCP first, then by protocol; by number within one. Malformed
// keys are left out.
func linkPorts(exposed map[string]struct{}) []linkPort {
	var ports []linkPort
	for k := range exposed {
		num, proto, ok := strings.Cut(k, "/")
		if !ok || proto == "" {
			proto = "tcp"
		}
		n, err := strconv.ParseUint(num, 10, 16)
		if err != nil {
			continue
		}
		ports = append(ports, linkPort{int(n), strings.ToLower(proto)})
	}
	slices.SortFunc(ports, func(a, b linkPort) int {
		switch {
		case a.proto == b.proto:
			return cmp.Compare(a.num, b.num)
		case a.proto == "tcp":
			return -1
		case b.proto == "tcp":
			return 1
		}
		return cmp.Compare(a.proto, b.proto)
	})
	return ports
}

func (p linkPort) url(ip string) string { return p.proto + "://" + ip + ":" + strconv.Itoa(p.num) }

// key is ALIAS_PORT_<N>_<PROTO>.
func (p linkPort) key(prefix string) string {
	return prefix + "_PORT_" + strconv.Itoa(p.num) + "_" + strings.ToUpper(p.proto)
}

// follows reports whether p comes right after q in a run of ports.
func (p linkPort) follows(q linkPort) bool { return p.proto == q.proto && p.num == q.num+1 }

// vars are the variables of one port.
func (p linkPort) vars(prefix, ip string) []string {
	k := p.key(prefix)
	return []string{
		k + "=" + p.url(ip),
		k + "_ADDR=" + ip,
		k + "_PORT=" + strconv.Itoa(p.num),
		k + "_PROTO=" + p.proto,
	}
}

// rangeVars are the variables of a run of consecutive ports, named after
// its first.
func rangeVars(prefix, ip string, first, last linkPort) []string {
	k := first.key(prefix)
	return []string{
		k + "_START=" + first.url(ip),
		k + "_PORT_START=" + strconv.Itoa(first.num),
		k + "_END=" + last.url(ip),
		k + "_PORT_END=" + strconv.Itoa(last.num),
	}
}

// WithLinkEnv is a process environment env with the links' variables
// where docker puts them: after its own PATH, HOSTNAME and (with -t) TERM,
// before the container's configured variables, which win over a link's
// of the same name.
func WithLinkEnv(env []string, tty bool, links []string) []string {
	if len(links) == 0 {
		return env
	}
	base := 0
	for base < len(env) && isRuntimeVar(env[base], tty) {
		base++
	}
	out := make([]string, 0, len(env)+len(links))
	out = append(out, env[:base]...)
	for _, kv := range links {
		k, _, _ := strings.Cut(kv, "=")
		if IndexEnv(env, k) < 0 {
			out = append(out, kv)
		}
	}
	return append(out, env[base:]...)
}

// isRuntimeVar reports whether kv is one of the variables Env starts a
// process's environment with.
func isRuntimeVar(kv string, tty bool) bool {
	k, _, _ := strings.Cut(kv, "=")
	return k == "PATH" || k == "HOSTNAME" || (tty && k == "TERM")
}
