package helper

import (
	"fmt"
	"reflect"

	"github.com/gantry-dev/gantry/services/scheduler/framework"
)

// ReadState returns the data under key in cs as a T, for state that a
// later extension point cannot do without. The errors are worded as
// Kubernetes' plugins word them: "reading <key quoted> from cycleState:
// <the CycleState's error>" (which wraps framework.ErrNotFound), and
// "<the data> convert to <pkg.Type> error" when the data is not a T
// (<pkg.Type> is T's name, without the * of a pointer).
func ReadState[T framework.StateData](cs *framework.CycleState, key framework.StateKey) (T, error) {
	var zero T
	d, err := cs.Read(key)
	if err != nil {
		return zero, fmt.Errorf("reading %q from cycleState: %w", key, err)
	}
	s, ok := d.(T)
	if !ok {
		return zero, fmt.Errorf("%+v convert to %s error", d, typeName[T]())
	}
	return s, nil
}

// typeName is T's name, as pkg.Type, without the * of a pointer.
func typeName[T any]() string {
	t := reflect.TypeFor[T]()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.String()
}

// PluginState returns the data that plugin's stage (such as "PreFilter"
// or "PreScore") wrote under key in cs, as a T. The errors read
// "<plugin>: reading <key quoted> from the cycle state: <the
// CycleState's error>" (which wraps framework.ErrNotFound) and
// "<plugin>: <stage> state is a <the data's type>".
func PluginState[T framework.StateData](cs *framework.CycleState, key framework.StateKey, plugin, stage string) (T, error) {
	d, err := cs.Read(key)
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: reading %q from the cycle state: %w", plugin, key, err)
	}
	return as[T](d, plugin, stage)
}

// LookupPluginState is PluginState for a plugin that works the state out
// itself when its stage did not run: found is false, and err nil, when
// nothing is under key. It does not allocate when the data is a T.
func LookupPluginState[T framework.StateData](cs *framework.CycleState, key framework.StateKey, plugin, stage string) (s T, found bool, err error) {
	d, err := cs.Read(key)
	if err != nil {
		return s, false, nil
	}
	s, err = as[T](d, plugin, stage)
	return s, true, err
}

// as is d as a T, or PluginState's error for plugin's stage.
func as[T framework.StateData](d framework.StateData, plugin, stage string) (T, error) {
	s, ok := d.(T)
	if !ok {
		return s, fmt.Errorf("%s: %s state is a %T", plugin, stage, d)
	}
	return s, nil
}
