package commands

import (
	"flag"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
)

func TestParseLogTime(t *testing.T) {
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{"", time.Time{}, false},
		{"10m", now.Add(-10 * time.Minute), false},
		{"1h30m", now.Add(-90 * time.Minute), false},
		{"2013-01-02T13:23:37Z", time.Date(2013, 1, 2, 13, 23, 37, 0, time.UTC), false},
		{"2013-01-02T13:23:37.5+01:00", time.Date(2013, 1, 2, 12, 23, 37, 5e8, time.UTC), false},
		{"2013-01-02T13:23:37", time.Date(2013, 1, 2, 13, 23, 37, 0, time.Local), false},
		{"2013-01-02", time.Date(2013, 1, 2, 0, 0, 0, 0, time.Local), false},
		{"1700000000", time.Unix(1700000000, 0), false},
		{"1700000000.25", time.Unix(1700000000, 25e7), false},
		{"yesterday", time.Time{}, true},
		{"1700000000.", time.Time{}, true},
		{"10x", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLogTime(tt.in, now)
			if (err != nil) != tt.err || !got.Equal(tt.want) {
				t.Errorf("parseLogTime(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestLogOptionsTail(t *testing.T) {
	tests := []struct {
		tail string
		want int
		err  bool
	}{
		{"all", -1, false},
		{"0", 0, false},
		{"5", 5, false},
		{"-1", -1, false},
		{"x", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.tail, func(t *testing.T) {
			set := flag.NewFlagSet("logs", flag.ContinueOnError)
			for _, f := range logsCommand().Flags {
				f.Apply(set)
			}
			if err := set.Parse([]string{"--tail", tt.tail}); err != nil {
				t.Fatal(err)
			}
			o, err := logOptions(cli.NewContext(nil, set, nil), time.Now())
			if (err != nil) != tt.err || (!tt.err && o.Tail != tt.want) {
				t.Errorf("--tail %s: %d, %v; want %d, error %v", tt.tail, o.Tail, err, tt.want, tt.err)
			}
		})
	}
}
