package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pony-build/pony"
)

// Delivery is what became of a bag given to Deliver.
type Delivery struct {
	// Receipt is the server's, when it took the bag.
	Receipt *pony.Receipt
	// Spooled is the spool file the bag was saved to when it could not be
	// sent, and Err the reason.
	Spooled string
	Err     error
	// Flushed reports the older spooled bags sent after a success.
	Flushed FlushReport
}

// Deliver sends env; when the server cannot be reached or refuses the bag,
// it spools it (with the server's answer beside it) for Flush to send later.
// After a success (never after a failure: a server that is down is not sent
// the older bags too) it flushes older bags spooled for the same server, those
// whose next try has come, without waiting for a flush that is already
// running. The returned error is set only
// when the bag is lost: too large to send, or the spool cannot be written.
func Deliver(ctx context.Context, sender *Sender, spool *Spool, env *Envelope) (Delivery, error) {
	var d Delivery
	rec, err := sender.Send(ctx, env)
	if err == nil {
		d.Receipt = rec
		// Best effort: a busy or broken spool does not make this send fail.
		// Bags that failed lately wait for their next try (RetryDelay).
		d.Flushed, _ = spool.Flush(ctx, sender, FlushOptions{Server: env.Server, Backoff: true})
		return d, nil
	}
	if errors.Is(err, ErrTooLarge) {
		return d, err
	}
	d.Err = err
	var se *ServerError
	if errors.As(err, &se) {
		d.Spooled, err = spool.SaveRefused(env, se)
	} else {
		d.Spooled, err = spool.Save(env)
	}
	if err != nil {
		return d, fmt.Errorf("%w; and the bag could not be spooled: %w", d.Err, err)
	}
	return d, nil
}

// Summary is a one-line account of a bag's tests, e.g.
// "120 tests: 118 pass, 1 fail, 1 skip (gotest, -)". Incomplete inputs are
// named.
func Summary(b *pony.Bag) string {
	t := b.Totals()
	parts := []string{fmt.Sprintf("%d pass", t.Pass)}
	for _, c := range []struct {
		n    int
		name string
	}{{t.Fail, "fail"}, {t.Error, "error"}, {t.Skip, "skip"}, {t.XFail, "xfail"}, {t.XPass, "xpass"}, {t.Flaky, "flaky"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.name))
		}
	}
	noun := "tests"
	if t.Tests == 1 {
		noun = "test"
	}
	var steps []string
	for i := range b.Steps {
		s := &b.Steps[i]
		d := s.Format + ", " + s.Name
		if s.Incomplete {
			d += ", incomplete"
		}
		steps = append(steps, d)
	}
	return fmt.Sprintf("%d %s: %s (%s)", t.Tests, noun, strings.Join(parts, ", "), strings.Join(steps, "; "))
}
