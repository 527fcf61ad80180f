package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pony-build/pony"
)

// RunsPath is where runs are opened.
const RunsPath = "/api/v1/runs"

// UpdateTokenHeader carries a run's update token on its steps, progress and
// finish.
const UpdateTokenHeader = "Pony-Update-Token"

// DefaultProgressTimeout bounds one progress report: a heartbeat must never
// slow the run down.
const DefaultProgressTimeout = 2 * time.Second

// ErrNotOpen is returned by Step, Progress and Finish when the run was never
// opened on the server (Open failed or was not called): deliver the whole bag
// instead.
var ErrNotOpen = errors.New("live run not open")

// Live reports one run to pony-server as it goes (DESIGN.md §5). Every method
// is best-effort: an error is returned (and Live remembers it: Failed
// reports it) but the caller carries on and delivers the whole bag at the end
// with Deliver, using the SAME idempotency key, which completes the run or
// spools the bag.
//
// A Live is safe for concurrent use (Progress from a ticker while Step runs),
// but its calls are serialised so that steps keep their order.
type Live struct {
	// Sender holds the token, the HTTP client and the retry policy.
	Sender *Sender
	// Server is pony-server's base URL.
	Server string
	// IdempotencyKey is the key of the bag this run will become.
	IdempotencyKey string
	// ProgressTimeout bounds one Progress call; 0 means
	// DefaultProgressTimeout.
	ProgressTimeout time.Duration

	mu          sync.Mutex
	resultKey   string
	updateToken string
	next        int         // the seq of the next step the server expects
	pending     []pony.Step // steps not yet acknowledged, oldest first
	stopped     error       // set once the server refused us for good
	last        error       // the last error any call met
}

// LiveProgress is what the client says of the step running now. Its JSON is
// the server's RunProgress.
type LiveProgress struct {
	Step   string `json:"step,omitempty"`
	Tests  int    `json:"tests"`
	Failed int    `json:"failed"`
	// Elapsed is the seconds since the run began.
	Elapsed float64 `json:"elapsed,omitempty"`
}

// ResultKey returns the run's result key once Open succeeded, else "".
func (l *Live) ResultKey() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resultKey
}

// Failed returns the last error a call met, nil when every call succeeded.
func (l *Live) Failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// Stopped returns the error that ended live reporting for good (the server
// refused the run, a step or the token), nil while it goes on.
func (l *Live) Stopped() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// fail remembers err; a refusal that trying again cannot cure also stops
// further steps and progress. The caller holds l.mu.
func (l *Live) fail(err error, stop bool) error {
	l.last = err
	if stop && l.stopped == nil {
		l.stopped = err
		l.pending = nil
	}
	return err
}

// Open opens the run on the server with b (its client_info, and any steps
// already done), choosing the update token itself so that a retried open is
// safe even when the first answer was lost. It returns the run's result key.
func (l *Live) Open(ctx context.Context, b *pony.Bag) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.resultKey != "" {
		return l.resultKey, nil
	}
	if l.IdempotencyKey == "" {
		return "", l.fail(errors.New("open run: no idempotency key"), true)
	}
	if l.updateToken == "" {
		l.updateToken = NewIdempotencyKey()
	}
	c := *b
	c.Receipt = nil
	bag, err := json.Marshal(&c)
	if err != nil {
		return "", l.fail(fmt.Errorf("open run: encode bag: %w", err), true)
	}
	tok, _ := json.Marshal(l.updateToken)
	body := make([]byte, 0, len(bag)+len(tok)+20)
	body = append(body, `{"update_token":`...)
	body = append(body, tok...)
	if rest := bytes.TrimSpace(bag[1:]); len(rest) > 1 { // bag is a JSON object
		body = append(body, ',')
		body = append(body, rest...)
	} else {
		body = append(body, '}')
	}
	var answer struct {
		ResultKey   string `json:"result_key"`
		UpdateToken string `json:"update_token"`
		State       string `json:"state"`
	}
	_, err = l.Sender.call(ctx, apiCall{
		server: l.Server, path: RunsPath, body: body, idem: l.IdempotencyKey, retry: true,
	}, &answer)
	if err != nil {
		return "", l.fail(fmt.Errorf("open run: %w", err), !temporary(err))
	}
	if answer.ResultKey == "" {
		return "", l.fail(errors.New("open run: the server's answer has no result_key"), true)
	}
	l.resultKey = answer.ResultKey
	if answer.UpdateToken != "" {
		l.updateToken = answer.UpdateToken
	}
	l.next = len(b.Steps)
	return l.resultKey, nil
}

// Step sends s as the run's next step. A step the server did not
// acknowledge (unreachable, 5xx) is kept and sent again, with the same seq,
// before the next one: the server takes a replay as a no-op. A refusal
// (a gap the server reports, a complete or unknown run, a wrong token, a
// step over the caps) stops live reporting; the bag delivered at the end
// carries every step anyway.
func (l *Live) Step(ctx context.Context, s pony.Step) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	l.pending = append(l.pending, s)
	for len(l.pending) > 0 {
		seq := l.next
		body, err := json.Marshal(struct {
			Seq  int        `json:"seq"`
			Step *pony.Step `json:"step"`
		}{seq, &l.pending[0]})
		if err != nil {
			l.pending = l.pending[1:]
			return l.fail(fmt.Errorf("step %d: encode: %w", seq, err), false)
		}
		var answer struct {
			Next int `json:"next"`
		}
		_, err = l.Sender.call(ctx, apiCall{
			server: l.Server, path: l.runPath("steps"), body: body, token: l.updateToken, retry: true,
		}, &answer)
		if err != nil {
			var ge *gapError
			if errors.As(err, &ge) && ge.next < seq {
				return l.fail(fmt.Errorf("step %d: the server has only %d steps of this run and the missing ones are no longer here to send again: %w", seq, ge.next, err), true)
			}
			return l.fail(fmt.Errorf("step %d: %w", seq, err), !temporary(err))
		}
		// 201 (stored) or 200 (a replay of a step the server already has).
		l.next = max(seq+1, answer.Next)
		l.pending = l.pending[1:]
	}
	return nil
}

// Progress reports the step running now; it doubles as a heartbeat that
// keeps the run from being closed as abandoned. It makes one try, bounded
// by ProgressTimeout, and never retries: the next one will do. Throttle it
// in the caller (every few seconds). While another call is under way it
// returns nil at once and sends nothing.
func (l *Live) Progress(ctx context.Context, p LiveProgress) error {
	if !l.mu.TryLock() {
		// Another call is talking to the server (a step, being retried):
		// that is a heartbeat too, and waiting for it would slow the run.
		return nil
	}
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return err
	}
	body, err := json.Marshal(p)
	if err != nil {
		return l.fail(fmt.Errorf("progress: encode: %w", err), false)
	}
	d := l.ProgressTimeout
	if d <= 0 {
		d = DefaultProgressTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if _, err := l.Sender.call(ctx, apiCall{
		server: l.Server, path: l.runPath("progress"), body: body, token: l.updateToken,
	}, nil); err != nil {
		return l.fail(fmt.Errorf("progress: %w", err), !temporary(err))
	}
	return nil
}

// Finish posts the whole bag (env.Bag: final client_info and every step,
// those streamed before included) to close the run, and returns the
// server's receipt. It is tried even after Step stopped, as the bag holds
// everything; when it fails for any reason, deliver env with Deliver: its
// idempotency key completes the run or spools the bag.
func (l *Live) Finish(ctx context.Context, env *Envelope) (*pony.Receipt, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.resultKey == "" {
		return nil, ErrNotOpen
	}
	if len(env.Bag) > MaxBody {
		return nil, l.fail(fmt.Errorf("finish: %w: %d MiB of JSON, over the %d MiB cap", ErrTooLarge, (len(env.Bag)+(1<<20)-1)>>20, MaxBody>>20), true)
	}
	var answer struct {
		Receipt *pony.Receipt `json:"receipt"`
	}
	if _, err := l.Sender.call(ctx, apiCall{
		server: l.Server, path: l.runPath("finish"), body: env.Bag, idem: env.IdempotencyKey,
		token: l.updateToken, retry: true,
	}, &answer); err != nil {
		return nil, l.fail(fmt.Errorf("finish: %w", err), !temporary(err))
	}
	l.pending = nil
	if answer.Receipt == nil {
		return &pony.Receipt{ResultKey: l.resultKey}, nil
	}
	return answer.Receipt, nil
}

// usable says why Step or Progress must not be tried. The caller holds l.mu.
func (l *Live) usable() error {
	if l.resultKey == "" {
		return ErrNotOpen
	}
	if l.stopped != nil {
		return fmt.Errorf("live reporting stopped: %w", l.stopped)
	}
	return nil
}

func (l *Live) runPath(what string) string {
	return RunsPath + "/" + url.PathEscape(l.resultKey) + "/" + what
}

// temporary reports whether trying again later may succeed.
func temporary(err error) bool {
	var se *ServerError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	var ue *UnreachableError
	return errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded)
}

// gapError is a 409 whose detail names the next step the server expects.
type gapError struct {
	*ServerError
	next int
}

func (e *gapError) Unwrap() error { return e.ServerError }

// apiCall is one JSON POST (or GET) to the API.
type apiCall struct {
	method       string // "" is POST
	server, path string
	body         []byte
	idem, token  string // Idempotency-Key, Pony-Update-Token when set
	retry        bool   // retry with the Sender's policy (the request is replay-safe)
}

// call posts c and decodes a 2xx answer into out (when not nil), retrying
// connection errors, 408, 429 and 5xx when c.retry is set. It returns the
// status, or a *ServerError or an *UnreachableError.
func (s *Sender) call(ctx context.Context, c apiCall, out any) (int, error) {
	attempts := 1
	if c.retry {
		attempts = max(s.Retry.Attempts, 1)
	}
	for n := 1; ; n++ {
		code, wait, err := s.callOnce(ctx, c, out)
		if err == nil {
			return code, nil
		}
		if !temporary(err) || ctx.Err() != nil || n >= attempts {
			return code, err
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
			return code, err
		}
	}
}

func (s *Sender) callOnce(ctx context.Context, c apiCall, out any) (code int, wait time.Duration, err error) {
	u := strings.TrimSuffix(c.server, "/") + c.path
	method, reqBody := c.method, io.Reader(bytes.NewReader(c.body))
	if method == "" {
		method = http.MethodPost
	}
	if method == http.MethodGet {
		reqBody = nil
	}
	req, err := http.NewRequestWithContext(ctx, method, u, reqBody)
	if err != nil {
		return 0, 0, fmt.Errorf("bad server address %q: %w", c.server, err)
	}
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.idem != "" {
		req.Header.Set("Idempotency-Key", c.idem)
	}
	if c.token != "" {
		req.Header.Set(UpdateTokenHeader, c.token)
	}
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
		return 0, 0, &UnreachableError{Server: c.server, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 == 2 {
		// Taken, but the answer was cut: every call that retries is
		// replay-safe.
		return resp.StatusCode, 0, &UnreachableError{Server: c.server, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			wait = time.Duration(secs) * time.Second
		}
		se := &ServerError{Server: c.server, StatusCode: resp.StatusCode, Message: errorMessage(body)}
		var d struct {
			Detail struct {
				Next *int `json:"next"`
			} `json:"detail"`
		}
		if resp.StatusCode == http.StatusConflict && json.Unmarshal(body, &d) == nil && d.Detail.Next != nil {
			return resp.StatusCode, wait, &gapError{ServerError: se, next: *d.Detail.Next}
		}
		return resp.StatusCode, wait, se
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(body, out); err != nil {
			return resp.StatusCode, 0, fmt.Errorf("%s answered %d with something that is not the API's JSON: %w", c.server, resp.StatusCode, err)
		}
	}
	return resp.StatusCode, 0, nil
}
