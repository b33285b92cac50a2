// Package e2e runs the real skiff binary against a real local registry and the
// real kernel, the way a docker user would; it needs root, docker-registry and
// busybox-static, and skips with a clear message without them.
package e2e
