package tapnet

import (
	"reflect"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// stopFDs finds the eventfds fdbased makes to stop its readers: this gVisor
// never closes them, and makes them without O_CLOEXEC, so every Stack would
// leak one into the process and into every child it starts. They sit in
// unexported fields; reading them by reflection is pinned to this gVisor
// version, and TestCloseLeavesNothing fails if the layout moves.
func stopFDs(link stack.LinkEndpoint) []int {
	v := reflect.ValueOf(link)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	ds := v.Elem().FieldByName("inboundDispatchers")
	if !ds.IsValid() || ds.Kind() != reflect.Slice {
		return nil
	}
	var fds []int
	for i := range ds.Len() {
		d := ds.Index(i)
		for d.Kind() == reflect.Interface || d.Kind() == reflect.Pointer {
			d = d.Elem()
		}
		if d.Kind() != reflect.Struct {
			continue
		}
		if efd := d.FieldByName("EFD"); efd.IsValid() && efd.CanInt() && efd.Int() >= 0 {
			fds = append(fds, int(efd.Int()))
		}
	}
	return fds
}

// cloexec keeps fds out of the children the caller starts.
func cloexec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
