package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/gantry-dev/gantry/services/agent/internal/runtime"
)

// EnsureBuiltin imports gantry.local/busybox:latest into rt unless it is
// there already.
func EnsureBuiltin(ctx context.Context, rt runtime.Runtime) error {
	_, err := rt.EnsureImage(ctx, Builtin, "Never", nil)
	if err == nil {
		return nil
	}
	if !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("builtin image %s: %w", Builtin, err)
	}
	var buf bytes.Buffer
	if err := BuildBusybox(&buf); err != nil {
		return err
	}
	if _, err := rt.ImportImage(ctx, &buf); err != nil {
		return fmt.Errorf("import builtin image %s: %w", Builtin, err)
	}
	return nil
}
