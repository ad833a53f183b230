package logger

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// MaxLineBytes is the longest piece of a line written as one log entry;
// longer lines are split into partial ("P") entries.
const MaxLineBytes = 16 * 1024

// Stream names as they appear in the CRI log format.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// File is a CRI-format log file with size-based rotation. Its methods are
// safe for concurrent use: stdout and stderr are copied into one file.
type File struct {
	opts Options
	now  func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (appends to) the log file, creating its directory.
func Open(o Options) (*File, error) {
	if o.MaxFiles < 1 {
		o.MaxFiles = 1
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return nil, err
	}
	l := &File{opts: o, now: time.Now}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.opts.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// WriteEntry writes one log entry: a whole line (partial false) or a
// piece of a longer one. b must not hold the line's newline.
func (l *File) WriteEntry(stream string, partial bool, b []byte) error {
	tag := "F"
	if partial {
		tag = "P"
	}
	ts := l.now().UTC().Format(time.RFC3339Nano)
	entry := make([]byte, 0, len(ts)+len(stream)+len(b)+5)
	entry = append(entry, ts...)
	entry = append(entry, ' ')
	entry = append(entry, stream...)
	entry = append(entry, ' ')
	entry = append(entry, tag...)
	entry = append(entry, ' ')
	entry = append(entry, b...)
	entry = append(entry, '\n')

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.MaxBytes > 0 && l.size > 0 && l.size+int64(len(entry)) > l.opts.MaxBytes {
		if err := l.rotate(); err != nil {
			return fmt.Errorf("rotate %s: %w", l.opts.Path, err)
		}
	}
	n, err := l.f.Write(entry)
	l.size += int64(n)
	return err
}

// rotate shifts name.log.i to name.log.i+1 (dropping the oldest) and
// starts an empty name.log.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	name := func(i int) string {
		if i == 0 {
			return l.opts.Path
		}
		return l.opts.Path + "." + strconv.Itoa(i)
	}
	if l.opts.MaxFiles == 1 {
		if err := os.Remove(l.opts.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for i := l.opts.MaxFiles - 2; i >= 0; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return l.open()
}

// Copy writes every line read from r as entries of stream until r ends.
// A last line without a newline is written whole at the end.
func (l *File) Copy(stream string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := l.WriteEntry(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := l.WriteEntry(stream, true, line); werr != nil {
				return werr
			}
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				return l.WriteEntry(stream, false, line)
			}
			return nil
		default:
			if len(line) > 0 {
				if werr := l.WriteEntry(stream, false, line); werr != nil {
					return werr
				}
			}
			return err
		}
	}
}
