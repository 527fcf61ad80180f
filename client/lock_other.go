//go:build !unix

package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// staleLock is the age after which a lock file left by a dead process is
// taken over.
const staleLock = 10 * time.Minute

// lockSpool creates file exclusively (O_EXCL), waiting for it when wait is
// set. A lock file older than staleLock is taken to be left by a crash.
func lockSpool(ctx context.Context, file string, wait bool) (unlock func(), err error) {
	for {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(file) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("lock spool: %w", err)
		}
		if fi, err := os.Stat(file); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(file)
			continue
		}
		if !wait {
			return nil, ErrBusy
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return nil, fmt.Errorf("wait for the spool lock: %w", err)
		}
	}
}
