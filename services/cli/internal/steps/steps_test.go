package steps

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{2100 * time.Millisecond, "[ 2.1s] x"},
		{0, "[ 0.0s] x"},
		{12345 * time.Millisecond, "[12.3s] x"},
		{123 * time.Second, "[123.0s] x"},
	} {
		if got := Format(tt.d, "x"); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// fakeClock advances by step on every reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(0, 0)
	return func() time.Time { t = t.Add(step); return t }
}

func TestPrinter(t *testing.T) {
	var b bytes.Buffer
	p := &Printer{w: &b, now: fakeClock(1500 * time.Millisecond)}
	if err := p.Do(func() (string, error) { return "gantry-store ready (pid 1)", nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := p.Do(func() (string, error) { return "gantry-apiserver", boom }); err != boom {
		t.Fatalf("Do returned %v, want %v", err, boom)
	}
	if err := p.Do(func() (string, error) { return "", boom }); err != boom {
		t.Fatalf("Do returned %v, want %v", err, boom)
	}
	if err := p.Do(func() (string, error) { return "", nil }); err != nil {
		t.Fatal(err)
	}
	want := "[ 1.5s] gantry-store ready (pid 1)\n[ 1.5s] gantry-apiserver: FAILED\n[ 1.5s] FAILED\n"
	if b.String() != want {
		t.Errorf("output\n%q\nwant\n%q", b.String(), want)
	}
}
