// Package ns owns Linux namespaces: the clone flags a container is created
// with, and joining the namespaces of a running container.
package ns
