// Package helper holds what several in-tree plugins do alike, as
// Kubernetes' framework/plugins/helper does: decoding plugin arguments,
// running over the nodes of the cycle, reading typed data from the
// CycleState, normalising scores and matching tolerations to taints.
//
// Every function keeps the error wording the plugins had, so that
// moving a plugin onto this package changes none of its messages.
package helper

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// DecodeStrict decodes the JSON value raw into v, rejecting unknown
// fields. nil, blank and null raw mean no arguments and leave v alone.
// As with json.Decoder, only the first JSON value of raw is read.
func DecodeStrict(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// DecodeArgs decodes the arguments of plugin name into into, as
// DecodeStrict does (nil, blank or null: into is left alone). Its error
// reads "<name> args: <the decoding error>".
//
// To accept the apiVersion and kind that a KubeSchedulerConfiguration
// file carries, decode into a struct embedding TypeMeta and the plugin's
// arguments, then call TypeMeta.CheckKind.
func DecodeArgs(name string, raw json.RawMessage, into any) error {
	if err := DecodeStrict(raw, into); err != nil {
		return fmt.Errorf("%s args: %w", name, err)
	}
	return nil
}

// NoArgs checks that plugin name was given no arguments: nil, blank,
// null or an empty object. Its error reads "<name> takes no args:
// <the decoding error>".
func NoArgs(name string, raw json.RawMessage) error {
	if err := DecodeStrict(raw, &struct{}{}); err != nil {
		return fmt.Errorf("%s takes no args: %w", name, err)
	}
	return nil
}

// TypeMeta is the apiVersion and kind that a plugin's args carry in a
// KubeSchedulerConfiguration file. Embedded next to the plugin's
// arguments, it lets DecodeArgs accept them.
type TypeMeta struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
}

// CheckKind accepts no kind or kind; otherwise its error reads
// "<name> args: kind <m.Kind quoted>, want <kind>". The apiVersion is
// not checked.
func (m TypeMeta) CheckKind(name, kind string) error {
	if m.Kind != "" && m.Kind != kind {
		return fmt.Errorf("%s args: kind %q, want %s", name, m.Kind, kind)
	}
	return nil
}
