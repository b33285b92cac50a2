// Package net owns container networking: today the loopback interface of a
// fresh network namespace; bridges, port forwarding and the rootless stack later.
package net
