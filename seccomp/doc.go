// Package seccomp is a container's seccomp filter: an OCI LinuxSeccomp
// (docker's profile, resolved by spec) compiled in pure Go to classic BPF
// for the native architecture and its compat ABIs, cached by the profile's
// hash, and loaded on the calling process.
package seccomp
