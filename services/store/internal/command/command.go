// Package command defines the raft log entries of gantry-store: one type
// byte followed by the protobuf encoding of an etcd request.
//
// The numbers are an append-only enum: a number, once used, is never reused
// or renumbered. A type with IgnorableFlag set may be skipped by a member
// that does not know it; any other unknown type stops the state machine,
// since applying a log partially would split the cluster's state.
package command

import (
	"errors"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Type is the first byte of every raft log entry.
type Type uint8

const (
	// 0 is never a valid type, so an empty entry cannot be misread.
	Put         Type = 1 // pb.PutRequest
	DeleteRange Type = 2 // pb.DeleteRangeRequest
	Txn         Type = 3 // pb.TxnRequest
	Compact     Type = 4 // pb.CompactionRequest
	LeaseGrant  Type = 5 // pb.LeaseGrantRequest (ID chosen by the proposer)
	LeaseRevoke Type = 6 // pb.LeaseRevokeRequest
	SetMember   Type = 7 // pb.Member: attributes of a member
	DelMember   Type = 8 // pb.Member: only ID is used

	// IgnorableFlag marks types that older members may skip.
	IgnorableFlag Type = 128
)

func (t Type) String() string {
	switch t {
	case Put:
		return "Put"
	case DeleteRange:
		return "DeleteRange"
	case Txn:
		return "Txn"
	case Compact:
		return "Compact"
	case LeaseGrant:
		return "LeaseGrant"
	case LeaseRevoke:
		return "LeaseRevoke"
	case SetMember:
		return "SetMember"
	case DelMember:
		return "DelMember"
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ErrUnknownType is returned by Decode for a type this member does not know.
var ErrUnknownType = errors.New("unknown command type")

// Message is what every payload implements (the etcd API types do).
type Message interface {
	Size() int
	MarshalTo([]byte) (int, error)
	Unmarshal([]byte) error
}

// Encode returns the log entry for a command.
func Encode(t Type, m Message) ([]byte, error) {
	b := make([]byte, 1+m.Size())
	b[0] = byte(t)
	if _, err := m.MarshalTo(b[1:]); err != nil {
		return nil, fmt.Errorf("encode %v: %w", t, err)
	}
	return b, nil
}

// Decode parses a log entry. An unknown type yields ErrUnknownType; the
// caller decides, by IgnorableFlag, whether that is fatal.
func Decode(data []byte) (Type, Message, error) {
	if len(data) == 0 {
		return 0, nil, errors.New("empty command")
	}
	t := Type(data[0])
	var m Message
	switch t {
	case Put:
		m = &pb.PutRequest{}
	case DeleteRange:
		m = &pb.DeleteRangeRequest{}
	case Txn:
		m = &pb.TxnRequest{}
	case Compact:
		m = &pb.CompactionRequest{}
	case LeaseGrant:
		m = &pb.LeaseGrantRequest{}
	case LeaseRevoke:
		m = &pb.LeaseRevokeRequest{}
	case SetMember, DelMember:
		m = &pb.Member{}
	default:
		return t, nil, fmt.Errorf("%w %d", ErrUnknownType, uint8(t))
	}
	if err := m.Unmarshal(data[1:]); err != nil {
		return t, nil, fmt.Errorf("decode %v: %w", t, err)
	}
	return t, m, nil
}
