package aggregator

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// DefaultRunTimeout is Options.RunTimeout's default.
const DefaultRunTimeout = 10 * time.Minute

// MaxRuns caps the runs Runs lists.
const MaxRuns = 50

// The length of a client's own update token.
const (
	minUpdateToken = 16
	maxUpdateToken = 255
)

// RunState is where an incremental run stands.
type RunState string

// The run states.
const (
	RunRunning   RunState = "running"
	RunAbandoned RunState = "abandoned" // no word from its client for RunTimeout: shown as incomplete
	RunComplete  RunState = "complete"  // finished: an ordinary result under the same key
)

// RunProgress is what a running run's client last said of the step running now.
type RunProgress struct {
	Step    string  `json:"step,omitempty"`
	Tests   int     `json:"tests"`
	Failed  int     `json:"failed"`
	Elapsed float64 `json:"elapsed,omitempty"` // seconds since the run began
}

// Run is an incremental run that is not complete, as the API and the pages show it.
type Run struct {
	Key      string       `json:"result_key"`
	State    RunState     `json:"state"`
	Env      Env          `json:"env"`
	Bag      *pony.Bag    `json:"bag"` // client_info and the steps received so far
	Progress *RunProgress `json:"progress,omitempty"`
	Started  time.Time    `json:"started"`
	Updated  time.Time    `json:"updated"` // the client's last word
	ClientIP string       `json:"client_ip,omitempty"`
}

// RunRecord is a Run as stored, with what only the Store sees.
type RunRecord struct {
	Run
	IdempotencyKey  string
	UpdateTokenHash string
}

// RunOptions accompany OpenRun.
type RunOptions struct {
	IdempotencyKey string // required
	UpdateToken    string // optional: the client's own; made when empty
	ClientIP       string
}

// OpenedRun is what OpenRun returns.
type OpenedRun struct {
	ResultKey   string   `json:"result_key"`
	UpdateToken string   `json:"update_token"`
	State       RunState `json:"state"`
	Existed     bool     `json:"-"`
}

// OpenRun opens an incremental run (DESIGN.md §5): bag holds its
// client_info and the steps already done, if any. The run's result key is
// the key its result will have. A repeat with the same idempotency key and
// the same update token returns the same run with Existed set; with
// another token, or none, it is an EConflict: the token is the proof that
// the repeat comes from the run's own client.
func (s *Service) OpenRun(ctx context.Context, bag *pony.Bag, opts RunOptions) (OpenedRun, error) {
	switch {
	case opts.IdempotencyKey == "":
		return OpenedRun{}, Errorf(EInvalid, "an Idempotency-Key is required to open a run (the key the whole bag will be sent with)")
	case len(opts.IdempotencyKey) > maxIdempotencyKey:
		return OpenedRun{}, Errorf(ETooLarge, "Idempotency-Key is %d bytes, over the limit of %d", len(opts.IdempotencyKey), maxIdempotencyKey)
	case opts.UpdateToken != "" && (len(opts.UpdateToken) < minUpdateToken || len(opts.UpdateToken) > maxUpdateToken):
		return OpenedRun{}, Errorf(EInvalid, "update_token is %d bytes: want %d to %d", len(opts.UpdateToken), minUpdateToken, maxUpdateToken)
	}
	if err := s.check(bag); err != nil {
		return OpenedRun{}, err
	}
	token, given := opts.UpdateToken, opts.UpdateToken != ""
	if !given {
		token = newSecret("run_")
	}
	now := s.opts.Now().UTC()
	steps := bag.Steps
	if steps == nil {
		steps = []pony.Step{}
	}
	rec := RunRecord{
		Run: Run{Key: NewResultKey(), State: RunRunning, Env: s.EnvOf(bag.ClientInfo),
			Bag: &pony.Bag{ClientInfo: bag.ClientInfo, Steps: steps}, Started: now, Updated: now, ClientIP: opts.ClientIP},
		IdempotencyKey: opts.IdempotencyKey, UpdateTokenHash: HashToken(token),
	}
	got, existed, err := s.store.CreateRun(ctx, rec)
	if err != nil {
		return OpenedRun{}, fmt.Errorf("store run: %w", err)
	}
	if existed && (!given || !tokenMatches(token, got.UpdateTokenHash)) {
		return OpenedRun{}, Errorf(EConflict, "a run was already opened with this Idempotency-Key and another update token")
	}
	return OpenedRun{ResultKey: got.Key, UpdateToken: token, State: got.State, Existed: existed}, nil
}

// tokenMatches compares a token with a stored hash in constant time.
func tokenMatches(token, hash string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(hash)) == 1
}

// runFor returns the run of key after checking its update token.
func (s *Service) runFor(ctx context.Context, key, updateToken string) (RunRecord, error) {
	if key == "" || len(key) > 128 {
		return RunRecord{}, Errorf(EInvalid, "bad result key %q", key)
	}
	rec, err := s.store.RunRecord(ctx, key)
	if err != nil {
		return RunRecord{}, notFound(err, "no run with key %q", key)
	}
	if updateToken == "" {
		return RunRecord{}, Errorf(EUnauthorized, "the run's update token is required: send Pony-Update-Token: <token>")
	}
	if !tokenMatches(updateToken, rec.UpdateTokenHash) {
		return RunRecord{}, Errorf(EUnauthorized, "wrong update token for run %s", key)
	}
	return rec, nil
}

// RunPackage returns the package of the run of key (ENotFound when none),
// for front ends to authorize a request before its update token is checked.
func (s *Service) RunPackage(ctx context.Context, key string) (string, error) {
	if key == "" || len(key) > 128 {
		return "", Errorf(EInvalid, "bad result key %q", key)
	}
	rec, err := s.store.RunRecord(ctx, key)
	if err != nil {
		return "", notFound(err, "no run with key %q", key)
	}
	return rec.Env.Package, nil
}

// AppendRunStep stores step number seq (from 0) of a run. seq equal to the
// number of steps stored: stored, next is seq+1. Smaller: a replay, nothing
// changes, next is the number stored. Larger: an EConflict whose Detail is
// {"next": stored}. A complete run takes no step (EConflict). The step is
// trimmed and validated like a bag's.
func (s *Service) AppendRunStep(ctx context.Context, key, updateToken string, seq int, step pony.Step) (next int, stored bool, err error) {
	if seq < 0 {
		return 0, false, Errorf(EInvalid, "seq must be ≥ 0, got %d", seq)
	}
	rec, err := s.runFor(ctx, key, updateToken)
	if err != nil {
		return 0, false, err
	}
	if seq >= s.opts.Limits.Steps && s.opts.Limits.Steps > 0 {
		return 0, false, Errorf(ETooLarge, "step %d: a run has at most %d steps", seq, s.opts.Limits.Steps)
	}
	one := &pony.Bag{ClientInfo: rec.Bag.ClientInfo, Steps: []pony.Step{step}}
	if err := s.check(one); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Message = strings.ReplaceAll(e.Message, "results_list[0]", "step")
			if ps, ok := e.Detail.([]string); ok {
				for i := range ps {
					ps[i] = strings.ReplaceAll(ps[i], "results_list[0]", "step")
				}
			}
		}
		return 0, false, err
	}
	return s.store.AppendRunStep(ctx, key, seq, one.Steps[0], s.opts.Now().UTC())
}

// RunProgress records what a run's client says of the step running now; it
// is a heartbeat too (an abandoned run comes back to running).
func (s *Service) RunProgress(ctx context.Context, key, updateToken string, p RunProgress) error {
	if p.Tests < 0 || p.Failed < 0 || p.Elapsed < 0 || p.Elapsed != p.Elapsed {
		return Errorf(EInvalid, "progress: tests, failed and elapsed must be ≥ 0")
	}
	if len(p.Step) > s.opts.Limits.Name {
		return Errorf(ETooLarge, "progress: step is %d bytes, over the limit of %d", len(p.Step), s.opts.Limits.Name)
	}
	if _, err := s.runFor(ctx, key, updateToken); err != nil {
		return err
	}
	return s.store.SetRunProgress(ctx, key, p, s.opts.Now().UTC())
}

// FinishRun completes a run with its whole bag: it becomes an ordinary
// result under the run's key, stored as Ingest stores one. An empty
// results_list means the steps the run has; a client_info without a
// package means the run's. A repeat returns the first receipt with Existed.
func (s *Service) FinishRun(ctx context.Context, key, updateToken string, bag *pony.Bag, clientIP string) (IngestResult, error) {
	rec, err := s.runFor(ctx, key, updateToken)
	if err != nil {
		return IngestResult{}, err
	}
	return s.completeRun(ctx, rec, bag, clientIP)
}

// completeRun is FinishRun once the run is known (Ingest comes here too).
func (s *Service) completeRun(ctx context.Context, rec RunRecord, bag *pony.Bag, clientIP string) (IngestResult, error) {
	if rec.State == RunComplete {
		// Nothing to merge: the store answers with the stored receipt.
		r, existed, err := s.store.CompleteRun(ctx, rec.Key, &pony.Bag{ClientInfo: rec.Bag.ClientInfo, Receipt: &pony.Receipt{ResultKey: rec.Key, Time: s.opts.Now().UTC()}}, CreateOptions{IdempotencyKey: rec.IdempotencyKey, Axes: s.opts.Axes})
		if err != nil {
			return IngestResult{}, fmt.Errorf("complete run: %w", err)
		}
		return IngestResult{Receipt: r, Existed: existed}, nil
	}
	if len(bag.Steps) == 0 {
		bag.Steps = rec.Bag.Steps
	}
	if strings.TrimSpace(bag.ClientInfo.Package) == "" {
		bag.ClientInfo = rec.Bag.ClientInfo
	}
	if bag.ClientInfo.Package != rec.Env.Package {
		return IngestResult{}, Errorf(EInvalid, "the bag is of package %q, but run %s is of %q", bag.ClientInfo.Package, rec.Key, rec.Env.Package)
	}
	if err := s.check(bag); err != nil {
		return IngestResult{}, err
	}
	if clientIP == "" {
		clientIP = rec.ClientIP
	}
	bag.Receipt = &pony.Receipt{ResultKey: rec.Key, Time: s.opts.Now().UTC(), ClientIP: clientIP}
	// The result's auth key is the run's update token (pony-build's
	// auth_key): its client already has it.
	r, existed, err := s.store.CompleteRun(ctx, rec.Key, bag, CreateOptions{IdempotencyKey: rec.IdempotencyKey, AuthKeyHash: rec.UpdateTokenHash, Axes: s.opts.Axes})
	if err != nil {
		return IngestResult{}, fmt.Errorf("complete run: %w", err)
	}
	return IngestResult{Receipt: r, Existed: existed}, nil
}

// Run returns a run that is not complete, steps so far included
// (ENotFound when there is none, or when it is complete: then its result
// is what Result returns).
func (s *Service) Run(ctx context.Context, key string) (Run, error) {
	if key == "" || len(key) > 128 {
		return Run{}, Errorf(EInvalid, "bad result key %q", key)
	}
	rec, err := s.store.RunRecord(ctx, key)
	if err != nil {
		return Run{}, notFound(err, "no run with key %q", key)
	}
	if rec.State == RunComplete {
		return Run{}, Errorf(ENotFound, "run %s is complete: its result is stored", key)
	}
	return rec.Run, nil
}

// Runs lists a package's runs that are not complete: running first, then
// abandoned, newest first, at most MaxRuns.
func (s *Service) Runs(ctx context.Context, pkg string) ([]Run, error) {
	if pkg == "" {
		return nil, Errorf(EInvalid, "package is required")
	}
	return s.store.Runs(ctx, pkg, []RunState{RunRunning, RunAbandoned}, MaxRuns)
}

// ReapRuns closes as abandoned the running runs whose client has said
// nothing for RunTimeout; it returns how many. Every replica may call it.
func (s *Service) ReapRuns(ctx context.Context) (int, error) {
	return s.store.AbandonRuns(ctx, s.opts.Now().Add(-s.opts.RunTimeout))
}

// RunTimeout returns how long a run may stay silent before it is abandoned.
func (s *Service) RunTimeout() time.Duration { return s.opts.RunTimeout }
