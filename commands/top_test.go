package commands

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFilterPs(t *testing.T) {
	out := []byte(`UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 05:00 ?        00:00:01 /sbin/init
root         100       1  0 05:01 ?        00:00:00 sh -c sleep 1 & sleep 2
root         101     100  0 05:01 ?        00:00:00 sleep 1
root         102       1  0 05:01 ?        00:00:00 other
`)
	tests := []struct {
		name string
		out  []byte
		pids []int
		want []string // PID|CMD of each row
		err  bool
	}{
		{"container's pids only, command keeps its spaces", out, []int{100, 101}, []string{"100|sh -c sleep 1 & sleep 2", "101|sleep 1"}, false},
		{"none", out, []int{999}, nil, false},
		{"no PID column", []byte("USER COMMAND\nroot init\n"), []int{1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			titles, rows, err := filterPs(tt.out, tt.pids)
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			if len(titles) != 8 {
				t.Fatalf("titles %q", titles)
			}
			var got []string
			for _, r := range rows {
				got = append(got, r[1]+"|"+r[7])
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("rows %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProcRows(t *testing.T) {
	titles, rows := procRows([]int{os.Getpid(), 1 << 30}, time.Now())
	if strings.Join(titles, " ") != "UID PID PPID C STIME TTY TIME CMD" {
		t.Fatalf("titles %q", titles)
	}
	if len(rows) != 1 {
		t.Fatalf("rows %q, want ours only (the other pid does not exist)", rows)
	}
	r := rows[0]
	if r[1] != strconv.Itoa(os.Getpid()) || r[2] != strconv.Itoa(os.Getppid()) {
		t.Errorf("PID/PPID %s/%s, want %d/%d", r[1], r[2], os.Getpid(), os.Getppid())
	}
	if !strings.Contains(r[7], "commands.test") {
		t.Errorf("CMD %q, want our command line", r[7])
	}
}

func TestPsTimeColumns(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.Local)
	tests := []struct{ got, want string }{
		{stime(now.Add(-time.Hour), now), "11:00"},
		{stime(now.Add(-48*time.Hour), now), "Mar02"},
		{cpuTime(3723 * time.Second), "01:02:03"},
		{cpuTime(90000 * time.Second), "1-01:00:00"},
		{tty(136<<8 | 3), "pts/3"},
		{tty(0), "?"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
