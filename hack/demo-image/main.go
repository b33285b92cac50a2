// Command demo-image builds skiff's busybox test image from the host's static
// busybox and pushes it to a registry reference, so the demo needs no internet.
//
//	go run ./hack/demo-image 127.0.0.1:5000/library/busybox:latest
package main

import (
	"fmt"
	"os"

	"github.com/skiff-dev/skiff/internal/testenv"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demo-image REGISTRY/REPO[:TAG]")
		os.Exit(2)
	}
	img, err := testenv.BusyboxImage()
	if err == nil {
		var dig string
		if dig, err = testenv.Push(img, os.Args[1]); err == nil {
			fmt.Printf("pushed %s@%s\n", os.Args[1], dig)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "demo-image:", err)
	os.Exit(1)
}
