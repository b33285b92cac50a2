package attach

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	in := []Frame{{Stdout, []byte("hello\n")}, {Exit, Uint32(3)}, {CloseStdin, nil}, {Error, ErrorPayload(127, "not found")}}
	for _, f := range in {
		if err := Write(&buf, f.Kind, f.Payload); err != nil {
			t.Fatal(err)
		}
	}
	for i, want := range in {
		got, err := Read(&buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.Kind != want.Kind || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("frame %d: got %v %q, want %v %q", i, got.Kind, got.Payload, want.Kind, want.Payload)
		}
	}
	if _, err := Read(&buf); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
	if code, msg := ParseError(ErrorPayload(126, "permission denied")); code != 126 || msg != "permission denied" {
		t.Errorf("ParseError: %d %q", code, msg)
	}
}

func TestReadRejects(t *testing.T) {
	tests := []struct {
		name string
		raw  []byte
	}{
		{"truncated header", []byte{1, 0, 0}},
		{"truncated payload", []byte{1, 0, 0, 0, 5, 'a'}},
		{"oversized", []byte{1, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(tt.raw)); err == nil || errors.Is(err, io.EOF) {
				t.Fatalf("err %v, want a protocol error", err)
			}
		})
	}
}
