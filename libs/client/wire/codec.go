package wire

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// protobufPrefix starts every object in Kubernetes protobuf encoding.
var protobufPrefix = []byte("k8s\x00")

// message is what the generated Kubernetes API types implement.
type message interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
	Reset()
}

// Encode returns obj in Kubernetes protobuf encoding, as an object of kind
// gvk: the prefix "k8s\x00" and a runtime.Unknown holding apiVersion, kind
// and the object's message, byte for byte what apimachinery's protobuf
// serializer writes. obj is only read, so objects shared with a cache may
// be encoded concurrently.
func Encode(obj runtime.Object, gvk schema.GroupVersionKind) ([]byte, error) {
	m, ok := obj.(message)
	if !ok {
		return nil, fmt.Errorf("%T has no protobuf encoding", obj)
	}
	raw, err := m.Marshal()
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", gvk.Kind, err)
	}
	unk := runtime.Unknown{
		TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind},
		Raw:      raw,
	}
	out := make([]byte, len(protobufPrefix)+unk.Size())
	copy(out, protobufPrefix)
	if _, err := unk.MarshalTo(out[len(protobufPrefix):]); err != nil {
		return nil, fmt.Errorf("encode %s: %w", gvk.Kind, err)
	}
	return out, nil
}

// Decode reads an object in Kubernetes protobuf encoding into into and
// sets into's kind to the one the data names, which it returns.
func Decode(data []byte, into runtime.Object) (schema.GroupVersionKind, error) {
	if !bytes.HasPrefix(data, protobufPrefix) {
		return schema.GroupVersionKind{}, fmt.Errorf("not a Kubernetes protobuf object (want prefix %q)", protobufPrefix)
	}
	var unk runtime.Unknown
	if err := unk.Unmarshal(data[len(protobufPrefix):]); err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("decode envelope: %w", err)
	}
	gvk := schema.FromAPIVersionAndKind(unk.APIVersion, unk.Kind)
	m, ok := into.(message)
	if !ok {
		return gvk, fmt.Errorf("%T has no protobuf encoding", into)
	}
	m.Reset()
	if err := m.Unmarshal(unk.Raw); err != nil {
		return gvk, fmt.Errorf("decode %s: %w", gvk.Kind, err)
	}
	into.GetObjectKind().SetGroupVersionKind(gvk)
	return gvk, nil
}

// DecodeAs is Decode for data that must be of kind want.
func DecodeAs(data []byte, want schema.GroupVersionKind, into runtime.Object) error {
	got, err := Decode(data, into)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("got an object of kind %q (%s), want %q (%s)", got.Kind, got.GroupVersion(), want.Kind, want.GroupVersion())
	}
	return nil
}
