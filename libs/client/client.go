package client

import (
	"context"
	"log/slog"
	"sync"
	"time"

	apiv1 "github.com/gantry-dev/gantry/proto/gantry/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// Client is a connection to the API servers. It is safe for concurrent
// use; every typed client and informer built on it shares it.
type Client struct {
	conn *grpc.ClientConn
	api  apiv1.ResourcesClient
	log  *slog.Logger

	// resolver hands gRPC the endpoints: configured holds those of
	// Config, serverName its ServerName (see FollowAPIServers).
	resolver   *manual.Resolver
	configured []resolver.Address
	serverName string
	mu         sync.Mutex
	current    []resolver.Address // nil: configured
}

// serviceConfig picks one API server at random (so that many clients
// spread over them) and moves to another when it fails; reads are retried
// when a server is unavailable.
const serviceConfig = `{
  "loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}],
  "methodConfig": [{
    "name": [
      {"service": "gantry.api.v1.Resources", "method": "Get"},
      {"service": "gantry.api.v1.Resources", "method": "List"},
      {"service": "gantry.api.v1.Resources", "method": "Watch"}
    ],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// New connects lazily to the API servers of cfg: the first call dials.
func New(cfg Config) (*Client, error) {
	cfg = cfg.withDefaults()
	eps, err := cfg.endpoints()
	if err != nil {
		return nil, err
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	// A resolver private to this client hands gRPC the endpoint list; the
	// TLS name of each address is its own host.
	r := manual.NewBuilderWithScheme("gantry")
	addrs := make([]resolver.Address, len(eps))
	for i, ep := range eps {
		addrs[i] = resolver.Address{Addr: ep.addr, ServerName: ep.host}
		if cfg.ServerName != "" {
			addrs[i].ServerName = cfg.ServerName
		}
	}
	r.InitialState(resolver.State{Addresses: addrs})
	opts := []grpc.DialOption{
		grpc.WithResolvers(r),
		grpc.WithTransportCredentials(credentials.NewTLS(tc)),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithUserAgent(cfg.UserAgent),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(cfg.MaxRecvBytes)),
		// Find a dead server under a quiet watch within a minute. (The API
		// server answers gRPC through net/http's HTTP/2 server, which
		// does not limit pings as a native gRPC server does.)
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 20 * time.Second}),
	}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(bearer(token)))
	}
	conn, err := grpc.NewClient(r.Scheme()+":///apiserver", opts...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, api: apiv1.NewResourcesClient(conn), log: cfg.Log,
		resolver: r, configured: addrs, serverName: cfg.ServerName}, nil
}

// Close ends the connections; watches and calls in flight fail.
func (c *Client) Close() error { return c.conn.Close() }

// bearer sends a token in the "authorization" metadata of every call.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

// RequireTransportSecurity keeps tokens off plain connections.
func (b bearer) RequireTransportSecurity() bool { return true }
