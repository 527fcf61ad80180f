//go:build unix

package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockSpool takes an exclusive flock on file, waiting for it (polling, so
// that ctx can cancel the wait) when wait is set. The kernel drops the lock
// if the process dies, so a crash never leaves the spool locked.
func lockSpool(ctx context.Context, file string, wait bool) (unlock func(), err error) {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock spool: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock spool: %w", err)
		}
		if !wait {
			f.Close()
			return nil, ErrBusy
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			f.Close()
			return nil, fmt.Errorf("wait for the spool lock: %w", err)
		}
	}
}
