// Package logfile owns docker's json-file log format: one JSON object per
// line, {"log":"text\n","stream":"stdout","time":"RFC3339Nano"}, written by
// a container's monitor and read back by skiff logs.
package logfile
