// Package procstat reads /proc/<pid>/stat, the kernel's one-line record of
// a process (proc(5)): its state, parent, terminal, CPU times and start
// time. One parser, because the comm field may hold spaces and parentheses.
package procstat
