package streaming

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
)

// maxRotated bounds the search for rotated files path.1, path.2, ...
const maxRotated = 1000

// logFiles are the open files of a container's log, oldest first: path.N,
// ..., path.1, path. A file stays readable after it is renamed, so the
// rotation of a log does not disturb its reader.
type logFiles struct {
	path  string
	files []*os.File
}

// openLog opens the files of the log at path that exist (none is not an
// error: the container may not have written anything yet).
func openLog(path string) (*logFiles, error) {
	l := &logFiles{path: path}
	if _, err := l.openNew(); err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// rotated looks whether path has become another file than the newest one
// open, and opens the files written since: the files rotated after the
// newest one open, then path. It returns them, oldest first. It is called
// once everything open has been read: it closes all but the newest file.
func (l *logFiles) rotated() ([]*os.File, error) {
	cur, err := os.Stat(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // rotated, but not yet created again
	}
	if err != nil {
		return nil, err
	}
	if newest := l.newest(); newest != nil && os.SameFile(cur, newest) {
		return nil, nil
	}
	// The files before the newest have been read: close them.
	if n := len(l.files) - 1; n > 0 {
		for _, f := range l.files[:n] {
			f.Close()
		}
		l.files = append(l.files[:0], l.files[n:]...)
	}
	return l.openNew()
}

// openNew opens path and the rotated files newer than the newest file
// open (all of them when it is gone or none is open).
func (l *logFiles) openNew() ([]*os.File, error) {
	newest := l.newest()
	var names []string
	for i := 1; i <= maxRotated; i++ {
		name := fmt.Sprintf("%s.%d", l.path, i)
		fi, err := os.Stat(name)
		if err != nil || (newest != nil && os.SameFile(fi, newest)) {
			break
		}
		names = append(names, name)
	}
	var opened []*os.File
	for i := len(names) - 1; i >= -1; i-- {
		name := l.path
		if i >= 0 {
			name = names[i]
		}
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // rotated away or removed meanwhile
		}
		if err != nil {
			return opened, err
		}
		if l.isOpen(f) {
			f.Close()
			continue
		}
		l.files = append(l.files, f)
		opened = append(opened, f)
	}
	return opened, nil
}

// newest returns the stat of the newest file open, or nil.
func (l *logFiles) newest() os.FileInfo {
	if len(l.files) == 0 {
		return nil
	}
	fi, err := l.files[len(l.files)-1].Stat()
	if err != nil {
		return nil
	}
	return fi
}

// isOpen reports whether f is a file already open (a rename raced with
// opening).
func (l *logFiles) isOpen(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	for _, o := range l.files {
		if ofi, err := o.Stat(); err == nil && os.SameFile(fi, ofi) {
			return true
		}
	}
	return false
}

// readers returns readers of the files open from their start that do not
// move the files' offsets.
func (l *logFiles) readers() []io.Reader {
	rs := make([]io.Reader, len(l.files))
	for i, f := range l.files {
		rs[i] = io.NewSectionReader(f, 0, math.MaxInt64)
	}
	return rs
}

func (l *logFiles) close() {
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// lineReader reads the raw lines of a sequence of files, the last of
// which may still grow.
type lineReader struct {
	srcs []io.Reader
	r    *bufio.Reader
	// frag is the start of a line of the last file whose end has not
	// been written yet.
	frag []byte
}

func newLineReader(srcs ...io.Reader) *lineReader {
	lr := &lineReader{}
	lr.add(srcs...)
	return lr
}

// add appends files to read after the current ones.
func (lr *lineReader) add(srcs ...io.Reader) {
	lr.srcs = append(lr.srcs, srcs...)
	if lr.r == nil && len(lr.srcs) > 0 {
		lr.r = bufio.NewReaderSize(lr.srcs[0], 64<<10)
	}
}

// next returns the next line without its newline, or io.EOF at the end
// of what has been written. A file before the last one ends with its
// last line even when that has no newline.
func (lr *lineReader) next() ([]byte, error) {
	for lr.r != nil {
		b, err := lr.r.ReadBytes('\n')
		if err == nil {
			if len(lr.frag) > 0 {
				b = append(lr.frag, b...)
				lr.frag = nil
			}
			return b[:len(b)-1], nil
		}
		if !errors.Is(err, io.EOF) {
			return nil, err
		}
		lr.frag = append(lr.frag, b...)
		if len(lr.srcs) == 1 {
			return nil, io.EOF
		}
		lr.srcs = lr.srcs[1:]
		lr.r.Reset(lr.srcs[0])
		if len(lr.frag) > 0 {
			line := lr.frag
			lr.frag = nil
			return line, nil
		}
	}
	return nil, io.EOF
}
