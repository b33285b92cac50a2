// Package testenv builds the fixtures skiff's end-to-end tests, benchmark and
// demo share: a throwaway local registry (Debian's docker-registry), a busybox
// image made from the host's static busybox, hand-made (also hostile) layers,
// and the network namespace of their own they run in.
package testenv
