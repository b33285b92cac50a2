package spec

import (
	"reflect"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

func TestParsePublish(t *testing.T) {
	type pb = state.PortBinding
	tests := []struct {
		in      string
		want    []pb
		wantErr string
	}{
		{"80", []pb{{Proto: "tcp", ContainerPort: 80}}, ""},
		{"8080:80", []pb{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}, ""},
		{"8080:80/udp", []pb{{Proto: "udp", HostPort: 8080, ContainerPort: 80}}, ""},
		{"8080:80/UDP", []pb{{Proto: "udp", HostPort: 8080, ContainerPort: 80}}, ""},
		{"8080:80/", []pb{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}, ""},
		{"127.0.0.1:8080:80", []pb{{Proto: "tcp", HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80}}, ""},
		{"127.0.0.1::80", []pb{{Proto: "tcp", HostIP: "127.0.0.1", ContainerPort: 80}}, ""},
		{"[::1]:8080:80", []pb{{Proto: "tcp", HostIP: "::1", HostPort: 8080, ContainerPort: 80}}, ""},
		{"::1:8080:80", []pb{{Proto: "tcp", HostIP: "::1", HostPort: 8080, ContainerPort: 80}}, ""},
		{"0:80", []pb{{Proto: "tcp", ContainerPort: 80}}, ""},
		{"8000-8010:8000-8010", []pb{{Proto: "tcp", HostPort: 8000, ContainerPort: 8000, Count: 11}}, ""},
		{"9000-9001:8000-8001/udp", []pb{{Proto: "udp", HostPort: 9000, ContainerPort: 8000, Count: 2}}, ""},
		{"8000-8002", []pb{{Proto: "tcp", ContainerPort: 8000}, {Proto: "tcp", ContainerPort: 8001}, {Proto: "tcp", ContainerPort: 8002}}, ""},
		{"published=8080,target=80", []pb{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}, ""},
		{"target=53,protocol=udp", []pb{{Proto: "udp", ContainerPort: 53}}, ""},
		// docker's errors (go-connections/nat, docker's CLI).
		{"abc", nil, "invalid containerPort: abc"},
		{"8080:", nil, "no port specified: 8080:<empty>"},
		{"8080:/udp", nil, "no port specified: 8080:/udp<empty>"},
		{"x:80", nil, "invalid hostPort: x"},
		{"70000:80", nil, "invalid hostPort: 70000"},
		{"8080:70000", nil, "invalid containerPort: 70000"},
		{"8080:0", nil, "invalid containerPort: 0"},
		{"1.2.3:8080:80", nil, "invalid IP address: 1.2.3"},
		{"[::1:8080:80", nil, "invalid IP address: [::1"},
		{"8080:80/icmp", nil, "invalid proto: icmp"},
		{"8000-8001:8000-8002", nil, "invalid ranges specified for container and host Ports: 8000-8002 and 8000-8001"},
		{"8010-8000:80", nil, "invalid hostPort: 8010-8000"},
		{"8000-:80", nil, "invalid hostPort: 8000-"},
		{"8000-8010:80", nil, "a host port range for one container port (8000-8010:80) is not supported yet: publish one host port, or none for a random one"},
		{"80/sctp", nil, "sctp ports are not supported yet"},
		{"published=8080,target", nil, "invalid publish opts format (should be name=value but got 'target')"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePublish(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParsePublish(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParsePublish(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseExpose(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"80", []string{"80/tcp"}, ""},
		{"53/udp", []string{"53/udp"}, ""},
		{"8000-8002/tcp", []string{"8000/tcp", "8001/tcp", "8002/tcp"}, ""},
		{"80:80", nil, "invalid port format for --expose: 80:80"},
		{"x", nil, `invalid range format for --expose: x, error: strconv.ParseUint: parsing "x": invalid syntax`},
		{"90-80", nil, "invalid range format for --expose: 90-80, error: invalid range specified for port: 90-80"},
		{"80/foo", nil, "invalid proto: foo"},
	}
	for _, tt := range tests {
		got, err := ParseExpose(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseExpose(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseExpose(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPublishAll(t *testing.T) {
	exposed := map[string]struct{}{"80/tcp": {}, "53/udp": {}, "443/tcp": {}, "9/sctp": {}}
	published := []state.PortBinding{{Proto: "tcp", HostPort: 8443, ContainerPort: 443}}
	got := PublishAll(exposed, published)
	want := []state.PortBinding{{Proto: "udp", ContainerPort: 53}, {Proto: "tcp", ContainerPort: 80}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PublishAll = %+v; want %+v", got, want)
	}
}

func TestExposedPorts(t *testing.T) {
	o := Options{Expose: []string{"8080/tcp", "80/tcp"}}
	got := ExposedPorts(map[string]struct{}{"80/tcp": {}, "53/udp": {}}, o)
	want := map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8080/tcp": {}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ExposedPorts = %v; want %v", got, want)
	}
	if got := ExposedPorts(nil, Options{}); got != nil {
		t.Errorf("ExposedPorts of nothing = %v; want nil", got)
	}
	if got := PublishedPorts([]state.PortBinding{{Proto: "udp", HostPort: 1, ContainerPort: 7, Count: 2}}); !reflect.DeepEqual(got, []string{"7/udp", "8/udp"}) {
		t.Errorf("PublishedPorts = %v", got)
	}
}
