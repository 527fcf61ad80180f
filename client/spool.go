package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Spool is a directory of bags waiting to be sent: one JSON file per bag
// (an Envelope), written atomically; beside a bag the server refused, a
// FILE.error holding the server's answer; beside a bag a flush failed to
// send, a FILE.retry (a RetryState) saying when to try it again. A file that
// is not a spooled bag is moved into DIR/corrupt/ by Flush, never deleted.
type Spool struct {
	Dir string

	now func() time.Time // nil: time.Now; tests set it
}

// DefaultSpoolDir is the spool under the user's cache directory.
func DefaultSpoolDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pony-report", "spool")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("pony-report-spool-%d", os.Getuid()))
}

const (
	spoolExt   = ".json"
	errorExt   = ".error"
	retryExt   = ".retry"
	lockName   = ".lock"
	corruptDir = "corrupt"
)

// Backoff of spooled bags: after the nth failed flush of a bag, the
// automatic flush waits FirstRetry << (n-1), at most MaxRetry, before trying
// it again.
const (
	FirstRetry = time.Minute
	MaxRetry   = time.Hour
)

// RetryState is what the spool remembers of a bag's failed flushes, in
// FILE.retry. A bag without one (spooled by an older pony-report, or never
// flushed) is due at once.
type RetryState struct {
	// Attempts counts the flushes that failed to send the bag.
	Attempts int `json:"attempts"`
	// NextTry is when the automatic flush may try it again.
	NextTry time.Time `json:"next_try"`
}

// RetryDelay is the wait after the nth failed flush of a bag: FirstRetry
// doubled each time, capped at MaxRetry.
func RetryDelay(n int) time.Duration {
	if n < 1 {
		return 0
	}
	if n > 7 { // 1 min << 6 is over an hour already
		return MaxRetry
	}
	return min(FirstRetry<<(n-1), MaxRetry)
}

func (s *Spool) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Save writes env into the spool atomically (a temporary file, fsync,
// rename, fsync of the directory) and returns its path. Saving the same bag
// twice writes one file.
func (s *Spool) Save(env *Envelope) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", fmt.Errorf("create spool: %w", err)
	}
	b, err := json.Marshal(env)
	if err != nil {
		return "", fmt.Errorf("encode spooled bag: %w", err)
	}
	name := filepath.Join(s.Dir, env.Created.UTC().Format("20060102T150405Z")+"-"+safeKey(env.IdempotencyKey)+spoolExt)
	if err := writeAtomic(name, b); err != nil {
		return "", fmt.Errorf("spool bag: %w", err)
	}
	return name, nil
}

// safeKey keeps a key usable as part of a file name.
func safeKey(k string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, k)
}

func writeAtomic(name string, data []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: not every platform syncs directories
		d.Close()
	}
	return nil
}

// Spooled is one bag in the spool.
type Spooled struct {
	Path     string
	Envelope *Envelope
	// LastError is the server's answer the last time it refused this bag.
	LastError string
	// Retry is what failed flushes left: tries so far and the next one's time.
	Retry RetryState
	// Err is set when the file cannot be read; Envelope is nil then.
	Err error
	// MovedTo is where Flush put a file that is not a spooled bag.
	MovedTo string
}

// List returns the spooled bags, oldest first. A missing spool is empty.
func (s *Spool) List() ([]Spooled, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	var out []Spooled
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, spoolExt) {
			continue
		}
		p := filepath.Join(s.Dir, n)
		sp := Spooled{Path: p}
		sp.Envelope, sp.Err = readEnvelope(p)
		if b, err := os.ReadFile(p + errorExt); err == nil {
			sp.LastError = strings.TrimSpace(string(b))
		}
		if b, err := os.ReadFile(p + retryExt); err == nil {
			// A damaged note only loses the backoff: the bag is due.
			_ = json.Unmarshal(b, &sp.Retry)
		}
		out = append(out, sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func readEnvelope(p string) (*Envelope, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return decodeEnvelope(p, b)
}

// errCorrupt marks a file that is not a spooled bag (as opposed to one that
// cannot be read right now).
var errCorrupt = errors.New("not a spooled bag")

func decodeEnvelope(p string, b []byte) (*Envelope, error) {
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", p, errCorrupt, err)
	}
	switch {
	case env.IdempotencyKey == "":
		return nil, fmt.Errorf("%s: %w: no idempotency_key", p, errCorrupt)
	case env.Server == "":
		return nil, fmt.Errorf("%s: %w: no server", p, errCorrupt)
	case len(env.Bag) == 0 || env.Bag[0] != '{':
		return nil, fmt.Errorf("%s: %w: bag is not a JSON object", p, errCorrupt)
	}
	return &env, nil
}

// removeStaleTemps deletes temporary files left by a Save that crashed.
// A Save in progress is not under the lock, so only old ones go.
func (s *Spool) removeStaleTemps() {
	tmps, _ := filepath.Glob(filepath.Join(s.Dir, ".tmp-*"))
	for _, p := range tmps {
		if fi, err := os.Stat(p); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(p)
		}
	}
}

// remove deletes a sent bag and its notes.
func (s *Spool) remove(p string) error {
	os.Remove(p + errorExt)
	os.Remove(p + retryExt)
	return os.Remove(p)
}

// noteFailure counts a failed flush of a bag and sets its next try.
func (s *Spool) noteFailure(sp *Spooled) {
	sp.Retry.Attempts++
	sp.Retry.NextTry = s.clock().Add(RetryDelay(sp.Retry.Attempts)).UTC().Truncate(time.Second)
	if b, err := json.Marshal(sp.Retry); err == nil {
		_ = writeAtomic(sp.Path+retryExt, b)
	}
}

// moveAside moves a file that is not a spooled bag, and its notes, into
// DIR/corrupt/, keeping its name (with a number added when taken), and
// returns the new path.
func (s *Spool) moveAside(p string) (string, error) {
	dir := filepath.Join(s.Dir, corruptDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	base := filepath.Base(p)
	dst := filepath.Join(dir, base)
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = filepath.Join(dir, fmt.Sprintf("%s.%d", base, i))
	}
	if err := os.Rename(p, dst); err != nil {
		return "", err
	}
	for _, ext := range []string{errorExt, retryExt} {
		if _, err := os.Stat(p + ext); err == nil {
			os.Rename(p+ext, dst+ext)
		}
	}
	return dst, nil
}

// noteError saves the server's refusal beside the bag.
func (s *Spool) noteError(p string, err error) {
	msg := fmt.Sprintf("%s %v\n", time.Now().UTC().Format(time.RFC3339), err)
	_ = writeAtomic(p+errorExt, []byte(msg))
}

// SaveRefused spools env and saves the server's refusal beside it.
func (s *Spool) SaveRefused(env *Envelope, err error) (string, error) {
	p, serr := s.Save(env)
	if serr != nil {
		return "", serr
	}
	s.noteError(p, err)
	return p, nil
}

// FlushOptions configure Flush.
type FlushOptions struct {
	// Server, when set, limits the flush to bags for that server; the
	// others are left alone and listed in FlushReport.Elsewhere.
	Server string
	// To, when set, is the server every bag is sent to, whatever server
	// it was spooled for (Server is then ignored): the server moved, or
	// the bags were spooled under another spelling of its address. Each
	// bag keeps its idempotency key, so it is still stored once.
	To string
	// Wait waits for another flush to finish; without it, Flush returns
	// ErrBusy at once when another one holds the spool.
	Wait bool
	// Backoff skips the bags whose next try (after failed flushes) is still
	// to come. Deliver's automatic flush sets it; `pony-report flush` tries
	// every bag now.
	Backoff bool
}

// ErrNotDue is the reason a bag was left alone by a flush with Backoff.
var ErrNotDue = errors.New("not due yet")

// ErrBusy is returned by Flush when another flush holds the spool.
var ErrBusy = errors.New("another pony-report is flushing this spool")

// FlushReport says what a flush did.
type FlushReport struct {
	// Sent are the bags the server took, now removed from the spool.
	Sent []Spooled
	// Remaining are the bags still spooled, each with the reason.
	Remaining []Spooled
	// Corrupt are the files that are not spooled bags (not JSON, cut
	// short, fields missing): each with the reason in Err and, once moved
	// into DIR/corrupt/, its new path in MovedTo. They are never sent and
	// never deleted.
	Corrupt []Spooled
	// Elsewhere are the bags left alone because they were spooled for
	// another server than FlushOptions.Server.
	Elsewhere []Spooled
}

// Flush sends every spooled bag to the server recorded with it, oldest
// first, each with its own idempotency key, and removes a bag only once the
// server answered 2xx. It holds an exclusive lock on the spool meanwhile, so
// that two flushes never send one bag twice. Once a server cannot be reached
// or says it is busy or down (408, 429, 502, 503, 504), its other bags wait
// for the next flush. Every bag it fails to send gets a later next try
// (RetryDelay), which a flush with Backoff honours. A file that is not a
// spooled bag is moved into DIR/corrupt/ and reported in Corrupt. With
// opts.To every bag goes to that server instead, its idempotency key kept.
func (s *Spool) Flush(ctx context.Context, sender *Sender, opts FlushOptions) (FlushReport, error) {
	var rep FlushReport
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return rep, nil
	}
	unlock, err := lockSpool(ctx, filepath.Join(s.Dir, lockName), opts.Wait)
	if err != nil {
		return rep, err
	}
	defer unlock()
	s.removeStaleTemps()
	list, err := s.List()
	if err != nil {
		return rep, err
	}
	down := map[string]error{}
	now := s.clock()
	for _, sp := range list {
		if sp.Err != nil {
			if errors.Is(sp.Err, errCorrupt) {
				if to, err := s.moveAside(sp.Path); err != nil {
					sp.Err = fmt.Errorf("%w; and it could not be moved aside: %w", sp.Err, err)
				} else {
					sp.MovedTo = to
				}
				rep.Corrupt = append(rep.Corrupt, sp)
				continue
			}
			rep.Remaining = append(rep.Remaining, sp) // unreadable now: try next time
			continue
		}
		env := sp.Envelope
		switch {
		case opts.To != "":
			if env.Server != opts.To {
				redirected := *env // the file keeps the server it was spooled for
				redirected.Server = opts.To
				env = &redirected
			}
		case opts.Server != "" && !sameServer(env.Server, opts.Server):
			rep.Elsewhere = append(rep.Elsewhere, sp)
			continue
		}
		if err := down[env.Server]; err != nil {
			sp.Err = err
			rep.Remaining = append(rep.Remaining, sp)
			continue
		}
		if err := ctx.Err(); err != nil {
			sp.Err = err
			rep.Remaining = append(rep.Remaining, sp)
			continue
		}
		if opts.Backoff && now.Before(sp.Retry.NextTry) {
			sp.Err = fmt.Errorf("%w: next try after %s (%d failed so far)", ErrNotDue, sp.Retry.NextTry.Local().Format(time.DateTime), sp.Retry.Attempts)
			rep.Remaining = append(rep.Remaining, sp)
			continue
		}
		_, err := sender.Send(ctx, env)
		if err == nil {
			if err := s.remove(sp.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				// Sent, but it would be sent again: the key makes that safe.
				sp.Err = fmt.Errorf("sent, but could not remove it: %w", err)
				rep.Remaining = append(rep.Remaining, sp)
				continue
			}
			rep.Sent = append(rep.Sent, sp)
			continue
		}
		sp.Err = err
		var se *ServerError
		if errors.As(err, &se) {
			s.noteError(sp.Path, err)
			sp.LastError = err.Error()
			if serverWide(se.StatusCode) {
				down[env.Server] = err
			}
		} else {
			down[env.Server] = err
		}
		if ctx.Err() == nil {
			s.noteFailure(&sp)
		}
		rep.Remaining = append(rep.Remaining, sp)
	}
	return rep, nil
}

// serverWide reports whether an answer speaks for the whole server (busy,
// down, behind a failing proxy) rather than for one bag, as a 500 may.
func serverWide(code int) bool {
	switch code {
	case 408, 429, 502, 503, 504:
		return true
	}
	return false
}

// sameServer reports whether two addresses name the same server as far as
// their spelling tells: a trailing slash, the case of the scheme and host,
// and a default port (:80 for http, :443 for https) make no difference.
// Other spellings of one server (127.0.0.1 and localhost, a second DNS
// name) cannot be told apart from a server that moved: see FlushOptions.To.
func sameServer(a, b string) bool {
	return canonicalServer(a) == canonicalServer(b)
}

func canonicalServer(s string) string {
	s = strings.TrimSuffix(s, "/")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if port := u.Port(); port == "80" && u.Scheme == "http" || port == "443" && u.Scheme == "https" {
		u.Host = strings.TrimSuffix(u.Host, ":"+port)
	}
	return u.String()
}

// SpooledFor counts bags by the server they were spooled for, sorted by
// address: what a flush limited to one server left alone.
func SpooledFor(bags []Spooled) []ServerCount {
	n := map[string]int{}
	for _, b := range bags {
		if b.Envelope != nil {
			n[b.Envelope.Server]++
		}
	}
	out := make([]ServerCount, 0, len(n))
	for s, c := range n {
		out = append(out, ServerCount{Server: s, Bags: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Server < out[j].Server })
	return out
}

// ServerCount is how many spooled bags are for one server.
type ServerCount struct {
	Server string
	Bags   int
}
