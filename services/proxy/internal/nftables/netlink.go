package nftables

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	gnft "github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ElementChanges is a sync that changes elements only: the shared maps
// and sets' elements deleted and added (in that order, between them the
// endpoint maps), and endpoint maps, which exist, whose elements are
// all replaced.
type ElementChanges struct {
	Delete, Add []Element
	Maps        []EndpointMap
}

// ElementWriter applies ElementChanges as one transaction.
type ElementWriter interface {
	WriteElements(ctx context.Context, ch ElementChanges) error
}

// ErrNotEncodable is returned, before anything is sent, for changes an
// ElementWriter cannot express; the proxier then runs nft instead.
var ErrNotEncodable = errors.New("element not encodable over netlink")

// NetlinkWriter is the ElementWriter of gantry-proxy: it sends element
// changes to the kernel as one nf_tables netlink batch (atomic, as an
// nft run is). nft itself first reads the table's chains and sets into
// its cache — about 0.1 s at 10,000 Services whatever the change — and
// an endpoint change, in this table's layout, is elements only.
type NetlinkWriter struct {
	table *gnft.Table
	netns *os.File
}

// NewNetlinkWriter returns a writer for table in the calling thread's
// network namespace (the one it keeps using).
func NewNetlinkWriter(table string) (*NetlinkWriter, error) {
	ns, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, fmt.Errorf("nftables netlink: %w", err)
	}
	return &NetlinkWriter{table: &gnft.Table{Name: table, Family: gnft.TableFamilyIPv4}, netns: ns}, nil
}

// Close releases the namespace handle.
func (w *NetlinkWriter) Close() error { return w.netns.Close() }

// WriteElements sends ch as one batch: deletes, endpoint maps flushed
// and refilled, adds.
func (w *NetlinkWriter) WriteElements(_ context.Context, ch ElementChanges) error {
	dels, err := w.group(ch.Delete, true)
	if err != nil {
		return err
	}
	adds, err := w.group(ch.Add, false)
	if err != nil {
		return err
	}
	n := len(ch.Delete) + len(ch.Add)
	for _, m := range ch.Maps {
		n += 2 * len(m.Entries)
	}
	c, err := gnft.New(gnft.WithNetNSFd(int(w.netns.Fd())), gnft.WithSockOptions(bufferFor(n)))
	if err != nil {
		return err
	}
	for _, g := range dels {
		for _, part := range chunks(g.els) {
			if err := c.SetDeleteElements(g.set, part); err != nil {
				return err
			}
		}
	}
	for _, m := range ch.Maps {
		s := w.set(m.Name)
		c.FlushSet(s)
		for _, part := range chunks(endpointElements(m)) {
			if err := c.SetAddElements(s, part); err != nil {
				return err
			}
		}
	}
	for _, g := range adds {
		for _, part := range chunks(g.els) {
			if err := c.SetAddElements(g.set, part); err != nil {
				return err
			}
		}
	}
	return c.Flush()
}

// elementGroup is elements of one set, for one message or a few.
type elementGroup struct {
	set *gnft.Set
	els []gnft.SetElement
}

// group encodes list, consecutive elements of one set together.
func (w *NetlinkWriter) group(list []Element, del bool) ([]elementGroup, error) {
	var out []elementGroup
	for _, e := range list {
		el, err := encodeElement(e, del)
		if err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].set.Name == e.In {
			out[n-1].els = append(out[n-1].els, el)
			continue
		}
		out = append(out, elementGroup{w.set(e.In), []gnft.SetElement{el}})
	}
	return out, nil
}

// bufferFor sizes the socket's buffers for a batch of n elements: the
// batch goes in one sendmsg, and the defaults (about 200 KiB) hold some
// 2,000 elements. As nft does, the size is forced past the system's
// limit (the proxy has CAP_NET_ADMIN).
func bufferFor(n int) gnft.SockOption {
	size := max(1<<20, 128*n+64<<10)
	return func(c *netlink.Conn) error {
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		err = rc.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, size); serr == nil {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
			}
		})
		return cmp.Or(err, serr)
	}
}

// maxElementsPerMessage keeps a message's element list well within a
// netlink attribute's 64 KiB (an element here is under 100 bytes).
const maxElementsPerMessage = 256

func chunks(els []gnft.SetElement) [][]gnft.SetElement {
	var out [][]gnft.SetElement
	for len(els) > maxElementsPerMessage {
		out = append(out, els[:maxElementsPerMessage])
		els = els[maxElementsPerMessage:]
	}
	if len(els) > 0 {
		out = append(out, els)
	}
	return out
}

func (w *NetlinkWriter) set(name string) *gnft.Set { return &gnft.Set{Table: w.table, Name: name} }

// endpointElements are m's intervals as the kernel keeps them: the
// start, and an interval-end element at the number after the last,
// keys in network byte order (the rule converts numgen's result).
func endpointElements(m EndpointMap) []gnft.SetElement {
	out := make([]gnft.SetElement, 0, 2*len(m.Entries))
	for _, e := range m.Entries {
		val := append(field(e.To.Addr().AsSlice()), field(binary.BigEndian.AppendUint16(nil, e.To.Port()))...)
		out = append(out,
			gnft.SetElement{Key: binary.BigEndian.AppendUint32(nil, e.First), Val: val},
			gnft.SetElement{Key: binary.BigEndian.AppendUint32(nil, e.Last+1), IntervalEnd: true})
	}
	return out
}

// keyFields are the key types of the shared maps and sets.
var keyFields = map[string][]string{
	setClusterIPs:          {"ip"},
	mapServiceIPs:          {"ip", "proto", "port"},
	mapNoEndpointServices:  {"ip", "proto", "port"},
	mapServiceNodePorts:    {"proto", "port"},
	mapNoEndpointNodePorts: {"proto", "port"},
	setHairpin:             {"ip", "ip"},
}

// encodeElement is e in the kernel's form: the key's fields, each
// padded to 4 bytes as nft concatenates them, and a verdict for maps.
func encodeElement(e Element, del bool) (gnft.SetElement, error) {
	kinds, ok := keyFields[e.In]
	if !ok || len(kinds) != len(e.Key) {
		return gnft.SetElement{}, fmt.Errorf("%w: %s { %s }", ErrNotEncodable, e.In, strings.Join(e.Key, " . "))
	}
	var key []byte
	for i, k := range kinds {
		b, err := encodeField(k, e.Key[i])
		if err != nil {
			return gnft.SetElement{}, fmt.Errorf("%w: %s: %v", ErrNotEncodable, e.In, err)
		}
		key = append(key, field(b)...)
	}
	el := gnft.SetElement{Key: key}
	if del {
		return el, nil
	}
	if e.Value != "" {
		v, err := encodeVerdict(e.Value)
		if err != nil {
			return gnft.SetElement{}, fmt.Errorf("%w: %s: %v", ErrNotEncodable, e.In, err)
		}
		el.VerdictData = v
	}
	el.Comment = e.Comment
	return el, nil
}

var protocols = map[string]byte{"tcp": 6, "udp": 17, "sctp": 132}

func encodeField(kind, s string) ([]byte, error) {
	switch kind {
	case "ip":
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return nil, fmt.Errorf("not an IPv4 address: %q", s)
		}
		return a.AsSlice(), nil
	case "proto":
		p, ok := protocols[s]
		if !ok {
			return nil, fmt.Errorf("unknown protocol %q", s)
		}
		return []byte{p}, nil
	case "port":
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("not a port: %q", s)
		}
		return binary.BigEndian.AppendUint16(nil, uint16(n)), nil
	}
	return nil, fmt.Errorf("unknown field kind %q", kind)
}

func encodeVerdict(v string) (*expr.Verdict, error) {
	switch {
	case v == verdictDrop:
		return &expr.Verdict{Kind: expr.VerdictDrop}, nil
	case strings.HasPrefix(v, "goto "):
		return &expr.Verdict{Kind: expr.VerdictGoto, Chain: strings.TrimPrefix(v, "goto ")}, nil
	}
	return nil, fmt.Errorf("verdict %q", v)
}

// field pads b to a multiple of 4 bytes, as the kernel's registers
// hold the fields of a concatenation.
func field(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
