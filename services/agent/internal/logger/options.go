package logger

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// Subcommand is the first argument of the agent's executable that selects
// logger mode; it is also the one key of the log URI's query.
const Subcommand = "logger"

// Options of one container's log file.
type Options struct {
	// Path of the log file; its directory is created if missing.
	Path string
	// MaxBytes rotates the file before it grows past this size; 0 never
	// rotates.
	MaxBytes int64
	// MaxFiles is the number of files kept, the current one included
	// (minimum 1).
	MaxFiles int
}

// Encode returns the options as one string, the argument Main expects.
func (o Options) Encode() string {
	v := url.Values{}
	v.Set("path", o.Path)
	if o.MaxBytes > 0 {
		v.Set("max-bytes", strconv.FormatInt(o.MaxBytes, 10))
	}
	if o.MaxFiles > 0 {
		v.Set("max-files", strconv.Itoa(o.MaxFiles))
	}
	return v.Encode()
}

// URIArgs returns the query of a "binary://" log URI (as cio.BinaryIO
// takes it) that makes the shim run "<binary> logger <options>".
func URIArgs(o Options) map[string]string {
	return map[string]string{Subcommand: o.Encode()}
}

// ParseOptions parses what Encode produced.
func ParseOptions(s string) (Options, error) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return Options{}, fmt.Errorf("logger options %q: %w", s, err)
	}
	o := Options{Path: v.Get("path"), MaxFiles: 1}
	if o.Path == "" {
		return Options{}, errors.New("logger options: no path")
	}
	if s := v.Get("max-bytes"); s != "" {
		if o.MaxBytes, err = strconv.ParseInt(s, 10, 64); err != nil || o.MaxBytes < 0 {
			return Options{}, fmt.Errorf("logger options: bad max-bytes %q", s)
		}
	}
	if s := v.Get("max-files"); s != "" {
		if o.MaxFiles, err = strconv.Atoi(s); err != nil || o.MaxFiles < 1 {
			return Options{}, fmt.Errorf("logger options: bad max-files %q", s)
		}
	}
	return o, nil
}
