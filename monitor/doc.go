// Package monitor is a container's monitor as other processes see it: the
// argv and fds it is spawned with, spawning it, and finding, signalling,
// waiting for and killing it. The monitor process itself is monitor/server.
package monitor
