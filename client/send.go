package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// MaxBody is the largest bag, in bytes of JSON, that Send posts.
const MaxBody = 64 << 20

// ResultsPath is where bags are posted on the server.
const ResultsPath = "/api/v1/results"

// ErrTooLarge is returned (wrapped) for a bag over the body cap. Sending it
// again cannot help, so it is not spooled.
var ErrTooLarge = errors.New("bag too large")

// Retry says how often and how patiently Send retries.
type Retry struct {
	// Attempts is the number of tries in all; below 1 means 1.
	Attempts int
	// Backoff is the wait before try n+1 after try n failed (n from 1).
	Backoff func(n int) time.Duration
	// MaxWait bounds a server's Retry-After.
	MaxWait time.Duration
	// Sleep waits d or until ctx is done; nil means a real timer. Tests
	// inject one that does not wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetry tries 4 times, waiting about 0.5 s, 1 s and 2 s between tries.
var DefaultRetry = Retry{
	Attempts: 4,
	Backoff: func(n int) time.Duration {
		d := 500 * time.Millisecond << (n - 1)
		return d/2 + rand.N(d) // jitter: spread concurrent clients
	},
	MaxWait: 30 * time.Second,
}

// ServerError is an answer from the server that is not a success.
type ServerError struct {
	Server     string
	StatusCode int
	// Message is the server's error message (its JSON "error" and "detail",
	// or the start of its body).
	Message string
}

func (e *ServerError) Error() string {
	msg := fmt.Sprintf("server said %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Temporary reports whether trying again later may succeed: 408, 429 and
// every 5xx. Other answers (400, 401, 403, 413, 422…) need a fix first.
func (e *ServerError) Temporary() bool {
	return e.StatusCode == http.StatusRequestTimeout || e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

// UnreachableError is a failure to get any answer from the server.
type UnreachableError struct {
	Server string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach %s: %v", e.Server, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Sender posts bags to pony-server.
type Sender struct {
	// Token is sent as `Authorization: Bearer TOKEN` when not empty.
	Token string
	// HTTP is the client used; nil means one with a 30 s timeout.
	HTTP *http.Client
	// Retry is the retry policy; the zero value tries once.
	Retry Retry
	// UserAgent is sent as User-Agent.
	UserAgent string
}

// Send posts env's bag to env.Server, at POST /api/v1/results, with its
// Idempotency-Key, retrying connection errors, 408, 429 and 5xx answers with
// backoff. It returns the server's receipt, or a *ServerError, an
// *UnreachableError, or ErrTooLarge.
func (s *Sender) Send(ctx context.Context, env *Envelope) (*pony.Receipt, error) {
	if len(env.Bag) > MaxBody {
		return nil, fmt.Errorf("%w: %d MiB of JSON, over the %d MiB cap; split the reports across several sends",
			ErrTooLarge, (len(env.Bag)+(1<<20)-1)>>20, MaxBody>>20)
	}
	url := strings.TrimSuffix(env.Server, "/") + ResultsPath
	attempts := max(s.Retry.Attempts, 1)
	var last error
	for n := 1; ; n++ {
		rec, wait, err := s.post(ctx, url, env)
		if err == nil {
			return rec, nil
		}
		last = err
		var se *ServerError
		if errors.As(err, &se) && !se.Temporary() || ctx.Err() != nil || n >= attempts {
			return nil, last
		}
		if d := s.Retry.Backoff; d != nil {
			wait = max(wait, d(n))
		}
		if s.Retry.MaxWait > 0 {
			wait = min(wait, s.Retry.MaxWait)
		}
		sleep := s.Retry.Sleep
		if sleep == nil {
			sleep = sleepCtx
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, last
		}
	}
}

// post makes one try. wait is the server's Retry-After, if any.
func (s *Sender) post(ctx context.Context, url string, env *Envelope) (rec *pony.Receipt, wait time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(env.Bag))
	if err != nil {
		return nil, 0, fmt.Errorf("bad server address %q: %w", env.Server, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Idempotency-Key", env.IdempotencyKey)
	if s.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	if s.UserAgent != "" {
		req.Header.Set("User-Agent", s.UserAgent)
	}
	hc := s.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, &UnreachableError{Server: env.Server, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 == 2 {
		// The server took the bag but the answer was cut: the key makes a
		// retry safe.
		return nil, 0, &UnreachableError{Server: env.Server, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		return nil, wait, &ServerError{Server: env.Server, StatusCode: resp.StatusCode, Message: errorMessage(body)}
	}
	var answer struct {
		Receipt *pony.Receipt `json:"receipt"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Receipt == nil {
		// Stored, but the answer is not the one documented: keep the
		// success and say what came back.
		return &pony.Receipt{}, 0, nil
	}
	return answer.Receipt, 0, nil
}

// errorMessage pulls a human message out of an error answer: the API's
// {"error": …, "detail": …}, or else the start of the body.
func errorMessage(body []byte) string {
	var e struct {
		Error  string          `json:"error"`
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		msg := e.Error
		if d := strings.TrimSpace(string(e.Detail)); d != "" && d != "null" {
			var s string
			if json.Unmarshal(e.Detail, &s) == nil {
				d = s
			}
			msg += " (" + d + ")"
		}
		return msg
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
