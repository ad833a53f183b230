// Package iptablesutil holds what the agent and the proxy both need to
// read iptables' own output.
package iptablesutil

import "strings"

// SplitRule splits a rule as `iptables -S` and `iptables-save` print it
// into its arguments, honouring the double quotes (and their backslash
// escapes) around comments.
func SplitRule(s string) []string {
	var (
		args   []string
		cur    strings.Builder
		quoted bool
		inArg  bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && quoted && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '"':
			quoted = !quoted
			inArg = true
		case c == ' ' && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}
