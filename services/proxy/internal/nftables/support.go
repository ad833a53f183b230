package nftables

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/knftables"
)

// ErrUnsupported says this host cannot run the nftables mode.
var ErrUnsupported = errors.New("the nftables proxy mode needs root, the nft command (Debian package nftables, v1.0.1 or later) " +
	"and a kernel with nf_tables, its nat, fib, numgen and reject expressions")

// NewInterface returns the nft runner of table after checking that this
// host can run the mode: nft is installed, recent enough, may change
// the ruleset, and accepts (nft --check, nothing applied) a small table
// using every kind of rule the proxier writes.
func NewInterface(ctx context.Context, table string) (knftables.Interface, error) {
	if !ValidTableName(table) {
		return nil, fmt.Errorf("nftables: %q is not a table name of ours", table)
	}
	probe, err := knftables.New(knftables.IPv4Family, table+"-probe")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if err := probe.Check(ctx, probeTransaction(probe)); err != nil {
		return nil, fmt.Errorf("%w: nft --check of a sample table failed: %v", ErrUnsupported, err)
	}
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return nft, nil
}

// probeTransaction is a small table with the proxier's kinds of chains,
// maps, sets and rules.
func probeTransaction(nft knftables.Interface) *knftables.Transaction {
	tx := nft.NewTransaction()
	tx.Add(&knftables.Table{})
	for _, bc := range baseChains {
		tx.Add(&knftables.Chain{Name: bc.name, Type: knftables.PtrTo(bc.typ), Hook: knftables.PtrTo(bc.hook), Priority: knftables.PtrTo(bc.priority)})
	}
	tx.Add(&knftables.Chain{Name: "endpoint"})
	tx.Add(&knftables.Chain{Name: chainReject})
	tx.Add(&knftables.Set{Name: "affinity", Type: "ipv4_addr",
		Flags: []knftables.SetFlag{knftables.DynamicFlag, knftables.TimeoutFlag}, Timeout: knftables.PtrTo(time.Minute)})
	tx.Add(&knftables.Map{Name: "ips", Type: "ipv4_addr . inet_proto . inet_service : verdict"})
	tx.Add(&knftables.Map{Name: "ports", Type: "inet_proto . inet_service : verdict"})
	tx.Add(&knftables.Map{Name: "none", Type: "ipv4_addr . inet_proto . inet_service : verdict"})
	tx.Add(&knftables.Element{Map: "ips", Key: []string{"192.0.2.1", "tcp", "80"}, Value: []string{"goto endpoint"}})
	tx.Add(&knftables.Element{Map: "ports", Key: []string{"tcp", "30000"}, Value: []string{"goto endpoint"}})
	tx.Add(&knftables.Element{Map: "none", Key: []string{"192.0.2.3", "udp", "53"}, Value: []string{"goto " + chainReject}})
	for _, r := range []knftables.Rule{
		{Chain: "endpoint", Rule: "ip saddr 192.0.2.2 meta mark set meta mark | 0x4000"},
		{Chain: "endpoint", Rule: "update @affinity { ip saddr }"},
		{Chain: "endpoint", Rule: "meta l4proto tcp dnat to 192.0.2.2:8080"},
		{Chain: chainNATPrerouting, Rule: "ip daddr . meta l4proto . th dport vmap @ips"},
		{Chain: chainNATPrerouting, Rule: "fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @ports"},
		{Chain: chainNATPrerouting, Rule: "ip saddr @affinity goto endpoint"},
		{Chain: chainNATPrerouting, Rule: "numgen random mod 1 vmap { 0 : goto endpoint }"},
		{Chain: chainNATPostrouting, Rule: "meta mark & 0x4000 == 0 return"},
		{Chain: chainNATPostrouting, Rule: "masquerade fully-random"},
		{Chain: chainReject, Rule: "reject"},
		{Chain: chainFilterOutput, Rule: "ct state new ip daddr . meta l4proto . th dport vmap @none"},
	} {
		tx.Add(&r)
	}
	return tx
}

// Cleanup deletes the table, and with it everything the proxier made.
// No table is no error. It is what --cleanup does in every mode.
func Cleanup(ctx context.Context, nft knftables.Interface) error {
	tx := nft.NewTransaction()
	tx.Delete(&knftables.Table{})
	if err := nft.Run(ctx, tx); err != nil && !knftables.IsNotFound(err) {
		return fmt.Errorf("delete nftables table: %w", err)
	}
	return nil
}

// CleanupTable is Cleanup of table, on a host that may have no nft: then
// the error is ErrUnsupported (and there is no table of ours either).
func CleanupTable(ctx context.Context, table string) error {
	if !ValidTableName(table) {
		return fmt.Errorf("nftables: %q is not a table name of ours", table)
	}
	nft, err := knftables.New(knftables.IPv4Family, table)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return Cleanup(ctx, nft)
}
