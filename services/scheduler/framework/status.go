package framework

import (
	"errors"
	"strconv"
	"strings"
)

// Code is the outcome of a plugin call.
type Code int

const (
	// Success: the plugin is content (a nil *Status means Success too).
	Success Code = iota
	// Error: something went wrong that is not the pod's or the node's
	// fault; the pod is retried with back-off.
	Error
	// Unschedulable: the node does not fit now, but preemption (removing
	// lower-priority pods) might make it fit.
	Unschedulable
	// UnschedulableAndUnresolvable: the node does not fit, and removing
	// pods would not change that (wrong labels, taints, ...).
	UnschedulableAndUnresolvable
	// Wait: a Permit plugin holds the pod back for a while.
	Wait
	// Skip: the plugin has nothing to do for this pod (PreFilter, PreScore:
	// its Filter/Score are skipped; Bind: the next binder is asked).
	Skip
)

var codeNames = [...]string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Wait", "Skip"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Status is a plugin's answer: a code, the human-readable reasons for it
// and, for Error, the error. The nil *Status is Success.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a status with code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	s := &Status{code: code, reasons: reasons}
	if code == Error && len(reasons) > 0 {
		s.err = errors.New(strings.Join(reasons, ", "))
	}
	return s
}

// AsStatus wraps err in an Error status (nil → nil).
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the status's code (Success for nil).
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// IsSuccess reports whether s is nil or Success.
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether s is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether s says the node does not fit.
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// Reasons returns the reasons.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	return s.reasons
}

// Message joins the reasons.
func (s *Status) Message() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.reasons, ", ")
}

// AsError returns the status as an error (nil unless Error or rejected).
func (s *Status) AsError() error {
	switch {
	case s.IsSuccess() || s.IsSkip():
		return nil
	case s.err != nil:
		return s.err
	}
	return errors.New(s.Message())
}

// Plugin names the plugin that returned the status (set by the framework).
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin returns s marked as returned by the named plugin. s itself is
// not modified (a plugin may return one shared Status from concurrent
// calls): a copy is made when the name differs.
func (s *Status) WithPlugin(name string) *Status {
	if s == nil || s.plugin == name {
		return s
	}
	c := *s
	c.plugin = name
	return &c
}

func (s *Status) String() string {
	if s == nil {
		return "Success"
	}
	if len(s.reasons) == 0 {
		return s.code.String()
	}
	return s.code.String() + ": " + s.Message()
}
