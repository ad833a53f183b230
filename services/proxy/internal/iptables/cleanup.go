package iptables

import (
	"context"
	"errors"
	"fmt"
)

// Cleanup removes every rule and chain the proxier with these names owns
// from the filter and nat tables: the jumps from the built-in chains
// first, then all the chains in one iptables-restore. Chains of other
// software are left alone. It is what --cleanup does.
func Cleanup(ctx context.Context, ex Executor, names Names) error {
	var errs []error
	r := &Restore{}
	for _, table := range []string{"filter", "nat"} {
		if err := ex.RemoveJumps(ctx, table, names.owned); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", table, err))
			continue
		}
		chains, err := ex.Chains(ctx, table)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, c := range chains {
			if !names.owned(c) {
				continue
			}
			if table == "filter" {
				r.DeletedFilter = append(r.DeletedFilter, c)
			} else {
				r.Deleted = append(r.Deleted, c)
			}
		}
	}
	if len(r.DeletedFilter)+len(r.Deleted) > 0 {
		if err := ex.Restore(ctx, []byte(r.String())); err != nil {
			errs = append(errs, fmt.Errorf("delete chains: %w", err))
		}
	}
	return errors.Join(errs...)
}
