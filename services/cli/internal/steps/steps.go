// Package steps prints a command's progress one line per step, each with
// the time the step took:
//
//	[ 0.4s] gantry-store ready (pid 4242)
//	[ 2.1s] gantry-apiserver ready (pid 4250)
package steps

import (
	"fmt"
	"io"
	"time"
)

// Format renders one step line.
func Format(d time.Duration, msg string) string {
	return fmt.Sprintf("[%4.1fs] %s", d.Seconds(), msg)
}

// Printer times steps and prints a line for each.
type Printer struct {
	w   io.Writer
	now func() time.Time
}

// New returns a Printer writing to w.
func New(w io.Writer) *Printer { return &Printer{w: w, now: time.Now} }

// Do runs fn and prints the message it returns with the time it took.
// When fn fails, the line says "FAILED" and the error is returned for the
// caller to explain; msg, if any, is still printed before it.
func (p *Printer) Do(fn func() (msg string, err error)) error {
	start := p.now()
	msg, err := fn()
	d := p.now().Sub(start)
	switch {
	case err != nil && msg != "":
		fmt.Fprintln(p.w, Format(d, msg+": FAILED"))
	case err != nil:
		fmt.Fprintln(p.w, Format(d, "FAILED"))
	case msg != "":
		fmt.Fprintln(p.w, Format(d, msg))
	}
	return err
}
