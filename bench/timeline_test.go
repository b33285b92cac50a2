package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseMarks(t *testing.T) {
	stderr := "skiff: debug: cli start 0.00\n" +
		"some other line\n" +
		"skiff: debug: monitor start 5.50\n" +
		"skiff: debug: not a mark at all here\n" +
		"skiff: debug: init exec 9.25\n" +
		"skiff: debug: cli exited 11.00\n" +
		"skiff: debug: cli exited 12.00\n"
	got, err := parseMarks(stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := "[{cli start 0} {monitor start 5.5} {init exec 9.25} {cli exited 11} {cli exited#2 12}]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
	if _, err := parseMarks("skiff: error\n"); err == nil {
		t.Error("no marks: no error")
	}
}

func TestMedianMarks(t *testing.T) {
	m := func(k string, ms float64) phaseMark { return phaseMark{key: k, ms: ms} }
	runs := [][]phaseMark{
		{m("cli start", 0), m("cli started", 8), m("monitor exited", 7)},
		{m("cli start", 0), m("monitor exited", 9), m("cli started", 6)},
		{m("cli start", 0), m("cli started", 7), m("monitor exited", 11), m("cli rare", 3)},
	}
	got := medianMarks(runs)
	want := "[{cli start 0} {cli rare 3} {cli started 7} {monitor exited 9}]"
	if fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s (medians, in time order)", got, want)
	}
	lines := formatTimeline(got)
	if len(lines) != 5 || !strings.Contains(lines[3], "started") || !strings.Contains(lines[3], "+4.00") {
		t.Errorf("table %q: want a header and 4 rows, started 4 ms after the line above", lines)
	}
}
