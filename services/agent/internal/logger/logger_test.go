package logger

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var entryRE = regexp.MustCompile(`^(\S+) (stdout|stderr) ([FP]) (.*)$`)

type entry struct {
	stream, tag, text string
}

// readEntries parses a CRI log file.
func readEntries(t *testing.T, path string) []entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []entry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		m := entryRE.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: not a CRI log line: %q", path, sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, m[1]); err != nil {
			t.Fatalf("%s: bad timestamp in %q: %v", path, sc.Text(), err)
		}
		out = append(out, entry{m[2], m[3], m[4]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOptionsRoundTrip(t *testing.T) {
	in := Options{Path: "/var/log/pods/a b/c&d.log", MaxBytes: 1 << 20, MaxFiles: 3}
	got, err := ParseOptions(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got != in {
		t.Fatalf("round trip: got %+v, want %+v", got, in)
	}
	for _, bad := range []string{"", "max-bytes=1", "path=/x&max-files=0", "path=/x&max-bytes=-1"} {
		if _, err := ParseOptions(bad); err == nil {
			t.Errorf("ParseOptions(%q) accepted", bad)
		}
	}
}

func TestCopyLines(t *testing.T) {
	long := strings.Repeat("x", MaxLineBytes+10)
	tests := []struct {
		name  string
		input string
		want  []entry
	}{
		{"lines", "a\nb\n", []entry{{"stdout", "F", "a"}, {"stdout", "F", "b"}}},
		{"no final newline", "a\nb", []entry{{"stdout", "F", "a"}, {"stdout", "F", "b"}}},
		{"empty line", "\n", []entry{{"stdout", "F", ""}}},
		{"long line", long + "\n", []entry{{"stdout", "P", long[:MaxLineBytes]}, {"stdout", "F", long[MaxLineBytes:]}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c", "0.log")
			f, err := Open(Options{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Copy(Stdout, strings.NewReader(tc.input)); err != nil {
				t.Fatal(err)
			}
			f.Close()
			got := readEntries(t, path)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d entries, want %d: %v", len(got), len(tc.want), got)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("entry %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	f, err := Open(Options{Path: path, MaxBytes: 200, MaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	f.now = func() time.Time { return time.Date(2024, 5, 1, 10, 0, 0, 123, time.UTC) }
	// Each entry is 41 + 10 bytes: three fit in 200 bytes, so 20 entries
	// fill six files and two entries of a seventh; three files are kept.
	for i := 0; i < 20; i++ {
		if err := f.WriteEntry(Stdout, false, []byte(strings.Repeat(string(rune('a'+i)), 10))); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	var all []entry
	for _, p := range []string{path + ".2", path + ".1", path} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 200 {
			t.Errorf("%s has %d bytes, more than 200", p, st.Size())
		}
		all = append(all, readEntries(t, p)...)
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 kept: %v", path, err)
	}
	if len(all) != 8 || all[len(all)-1].text != strings.Repeat("t", 10) {
		t.Fatalf("the last 8 entries should be kept in order, got %v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].text[0] != all[i-1].text[0]+1 {
			t.Fatalf("entries out of order: %v", all)
		}
	}
}

func TestRunSignalsReadyAndCopiesBothStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	ready := make(chan struct{})
	done := make(chan int, 1)
	go func() {
		done <- run(Options{Path: path}, outR, errR, closerFunc(func() error { close(ready); return nil }))
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("logger did not signal readiness")
	}
	io.WriteString(outW, "to stdout\n")
	io.WriteString(errW, "to stderr\n")
	outW.Close()
	errW.Close()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit code %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logger did not stop at the end of its input")
	}
	got := readEntries(t, path)
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	seen := map[entry]bool{}
	for _, e := range got {
		seen[e] = true
	}
	if !seen[entry{"stdout", "F", "to stdout"}] || !seen[entry{"stderr", "F", "to stderr"}] {
		t.Fatalf("got %v", got)
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }
