package server

import (
	"fmt"

	"google.golang.org/protobuf/proto"
)

// gogoCodec is the gRPC codec of gantry-store's servers and peer clients.
// etcd's API types are gogo-generated and marshal themselves; the default
// codec reaches them through protobuf-go's legacy wrapper, which sizes the
// message by reflection and copies the encoded bytes once more. For a
// 10 MiB range response that is a 10 MiB copy per request. Messages from
// protobuf-go (the peer API) go through proto as usual.
type gogoCodec struct{}

type gogoMessage interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

func (gogoCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(gogoMessage); ok {
		return m.Marshal()
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Marshal(m)
	}
	return nil, fmt.Errorf("gantry-store codec: cannot marshal %T", v)
}

func (gogoCodec) Unmarshal(data []byte, v any) error {
	if m, ok := v.(gogoMessage); ok {
		return m.Unmarshal(data)
	}
	if m, ok := v.(proto.Message); ok {
		return proto.Unmarshal(data, m)
	}
	return fmt.Errorf("gantry-store codec: cannot unmarshal into %T", v)
}

// Name is "proto": the wire format is standard protobuf.
func (gogoCodec) Name() string { return "proto" }
