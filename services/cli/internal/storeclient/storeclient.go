// Package storeclient adds a new gantry-store member to a running
// cluster through the etcd v3 Cluster API, as `etcdctl member add
// --learner` and `etcdctl member promote` do: the joining control-plane
// host adds itself as a learner (which cannot make the cluster lose its
// quorum while it catches up), starts its member, and promotes it to a
// voter once it is in sync.
package storeclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Client is a connection to the store's client endpoints.
type Client struct {
	conn *grpc.ClientConn
}

// TLS is the client side of the store's mutual TLS.
type TLS struct {
	CAPEM, CertPEM, KeyPEM []byte
}

// Dial connects to one of endpoints ("host:port" or "https://host:port").
func Dial(endpoints []string, t TLS) (*Client, error) {
	if len(endpoints) == 0 {
		return nil, errors.New("storeclient: no store endpoints")
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(t.CAPEM) {
		return nil, errors.New("storeclient: no PEM certificate in the CA data")
	}
	pair, err := tls.X509KeyPair(t.CertPEM, t.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("storeclient: client certificate: %w", err)
	}
	cfg := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	addrs := make([]string, len(endpoints))
	for i, e := range endpoints {
		addrs[i] = strings.TrimPrefix(e, "https://")
	}
	// One target per endpoint would need a resolver; the first that
	// answers a member list is used.
	var errs []error
	for _, a := range addrs {
		conn, err := grpc.NewClient(a, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err = pb.NewClusterClient(conn).MemberList(ctx, &pb.MemberListRequest{Linearizable: true})
		cancel()
		if err != nil {
			conn.Close()
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			continue
		}
		return &Client{conn: conn}, nil
	}
	return nil, fmt.Errorf("storeclient: no store member answered: %w", errors.Join(errs...))
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Member is one store member.
type Member struct {
	ID       uint64
	Name     string // empty until the member has started
	PeerURLs []string
	Learner  bool
}

func members(in []*pb.Member) []Member {
	out := make([]Member, 0, len(in))
	for _, m := range in {
		out = append(out, Member{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, Learner: m.IsLearner})
	}
	return out
}

// List returns the members.
func (c *Client) List(ctx context.Context) ([]Member, error) {
	resp, err := pb.NewClusterClient(c.conn).MemberList(ctx, &pb.MemberListRequest{Linearizable: true})
	if err != nil {
		return nil, fmt.Errorf("storeclient: member list: %w", err)
	}
	return members(resp.Members), nil
}

// AddLearner adds a learner with peerURL and returns its ID and all
// members. A member with that peer URL already there is returned as is
// (a join that is run again).
func (c *Client) AddLearner(ctx context.Context, peerURL string) (uint64, []Member, error) {
	all, err := c.List(ctx)
	if err != nil {
		return 0, nil, err
	}
	for _, m := range all {
		if slices.Contains(m.PeerURLs, peerURL) {
			return m.ID, all, nil
		}
	}
	resp, err := pb.NewClusterClient(c.conn).MemberAdd(ctx, &pb.MemberAddRequest{PeerURLs: []string{peerURL}, IsLearner: true})
	if err != nil {
		return 0, nil, fmt.Errorf("storeclient: member add %s: %w", peerURL, err)
	}
	return resp.Member.ID, members(resp.Members), nil
}

// Promote makes learner id a voter, retrying until it succeeds or ctx
// ends (a learner that is still catching up is refused). A member that
// is a voter already is fine.
func (c *Client) Promote(ctx context.Context, id uint64) error {
	var last error
	for {
		all, err := c.List(ctx)
		if err == nil {
			i := slices.IndexFunc(all, func(m Member) bool { return m.ID == id })
			if i < 0 {
				return fmt.Errorf("storeclient: member %x is not in the cluster", id)
			}
			if !all[i].Learner {
				return nil
			}
			_, err = pb.NewClusterClient(c.conn).MemberPromote(ctx, &pb.MemberPromoteRequest{ID: id})
			if err == nil {
				return nil
			}
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("storeclient: promote member %x: %w (last error: %v)", id, ctx.Err(), last)
		case <-time.After(time.Second):
		}
	}
}

// InitialCluster renders --initial-cluster for a new member named self
// with ID id: every member as name=peerURL, the new one under self.
// Members that have not started (no name yet) other than the new one
// cannot be named: the join fails rather than guess.
func InitialCluster(all []Member, self string, id uint64) (string, error) {
	var parts []string
	found := false
	for _, m := range all {
		name := m.Name
		if m.ID == id {
			name, found = self, true
		}
		if name == "" {
			return "", fmt.Errorf("storeclient: member %x (%s) was added but never started: start it, or remove it with etcdctl member remove %x",
				m.ID, strings.Join(m.PeerURLs, ","), m.ID)
		}
		for _, u := range m.PeerURLs {
			parts = append(parts, name+"="+u)
		}
	}
	if !found {
		return "", fmt.Errorf("storeclient: member %x is not in the member list", id)
	}
	return strings.Join(parts, ","), nil
}

// ErrLastMember: RemoveByPeerURL does not remove the last member (a
// store of none could not be asked anything again).
var ErrLastMember = errors.New("storeclient: the last member is not removed")

// RemoveByPeerURL removes the member with peerURL and reports whether
// there was one; the last member is ErrLastMember.
func (c *Client) RemoveByPeerURL(ctx context.Context, peerURL string) (bool, error) {
	all, err := c.List(ctx)
	if err != nil {
		return false, err
	}
	i := slices.IndexFunc(all, func(m Member) bool { return slices.Contains(m.PeerURLs, peerURL) })
	if i < 0 {
		return false, nil
	}
	if len(all) == 1 {
		return false, ErrLastMember
	}
	if _, err := pb.NewClusterClient(c.conn).MemberRemove(ctx, &pb.MemberRemoveRequest{ID: all[i].ID}); err != nil {
		return false, fmt.Errorf("storeclient: member remove %x: %w", all[i].ID, err)
	}
	return true, nil
}
