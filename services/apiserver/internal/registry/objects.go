package registry

import (
	"crypto/rand"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
)

// Objects are handled generically where Kubernetes' rules are the same for
// every kind: a kind has a status subresource when its Go type has a Status
// field, and a generation when it has a Spec field.

func structField(obj runtime.Object, name string) (reflect.Value, bool) {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	f := v.Elem().FieldByName(name)
	return f, f.IsValid()
}

// copyField sets dst's field name to src's (a shallow copy: src must not be
// shared afterwards unless it is immutable).
func copyField(dst, src runtime.Object, name string) {
	d, ok := structField(dst, name)
	if !ok {
		return
	}
	s, ok := structField(src, name)
	if !ok {
		return
	}
	d.Set(s)
}

// resetField sets obj's field name to its zero value.
func resetField(obj runtime.Object, name string) {
	if f, ok := structField(obj, name); ok {
		f.Set(reflect.Zero(f.Type()))
	}
}

func hasField(obj runtime.Object, name string) bool {
	_, ok := structField(obj, name)
	return ok
}

// sameField reports whether a and b hold semantically equal values in
// field name.
func sameField(a, b runtime.Object, name string) bool {
	fa, oka := structField(a, name)
	fb, okb := structField(b, name)
	if !oka || !okb {
		return oka == okb
	}
	return equality.Semantic.DeepEqual(fa.Interface(), fb.Interface())
}

const nameAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// randomSuffix is what generateName appends, as Kubernetes does: five
// characters from an alphabet without vowels and look-alikes.
func randomSuffix() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = nameAlphabet[int(b[i])%len(nameAlphabet)]
	}
	return string(b)
}
