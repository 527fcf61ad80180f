package aggregator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// Options configure a Service. Zero fields take the defaults.
type Options struct {
	// Limits caps the fields of ingested bags (default pony.DefaultLimits).
	Limits pony.Limits
	// StaleAfter is the age past which an environment's latest result is
	// stale, and should-build says "build" (default 24 h, as pony-build).
	StaleAfter time.Duration
	// BuildDuration is how long a reservation lasts when the machine names
	// no allowance and the environment has no previous duration
	// (default 1 h, as pony-build); MaxBuildAllowance caps what a machine
	// may ask for (default 4 h).
	BuildDuration     time.Duration
	MaxBuildAllowance time.Duration
	// PrivateReads makes reads need a token too, once any token exists.
	PrivateReads bool
	// RunTimeout is how long an incremental run may go without a word from
	// its client before ReapRuns closes it as abandoned (default 10 min).
	RunTimeout time.Duration
	// Flaky tunes the flakiness verdicts of the flaky ranking, the matrix's
	// flaky marks and the packages' flaky counts (zero fields: defaults).
	Flaky FlakyOptions
	// Axes are client_info keys that make environments of their own, as
	// the tagset's fields do (see NewEnv and ParseAxisKeys); none by default.
	Axes []string
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// Service ingests bags and answers questions about them. It is safe for
// concurrent use; several Services (server replicas) may share one Store.
type Service struct {
	store Store
	opts  Options
}

// New returns a Service over store.
func New(store Store, opts Options) *Service {
	if opts.Limits == (pony.Limits{}) {
		opts.Limits = pony.DefaultLimits
	}
	if opts.StaleAfter == 0 {
		opts.StaleAfter = 24 * time.Hour
	}
	if opts.BuildDuration == 0 {
		opts.BuildDuration = time.Hour
	}
	if opts.MaxBuildAllowance == 0 {
		opts.MaxBuildAllowance = 4 * time.Hour
	}
	if opts.RunTimeout <= 0 {
		opts.RunTimeout = DefaultRunTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, opts: opts}
}

// EnvOf returns the environment a client_info describes, with the
// Service's axes (Options.Axes).
func (s *Service) EnvOf(ci pony.ClientInfo) Env { return NewEnv(ci, s.opts.Axes...) }

// Limits returns the caps the Service applies.
func (s *Service) Limits() pony.Limits { return s.opts.Limits }

// IngestOptions accompany a bag.
type IngestOptions struct {
	// IdempotencyKey makes a retried send safe: the second send returns the
	// first receipt and stores nothing.
	IdempotencyKey string
	// ClientIP is recorded in the receipt.
	ClientIP string
}

// maxIdempotencyKey caps the Idempotency-Key header.
const maxIdempotencyKey = 255

// IngestResult is what Ingest returns.
type IngestResult struct {
	Receipt pony.Receipt
	// Existed is true when the idempotency key was seen before: nothing new
	// was stored and Receipt is the first one.
	Existed bool
	// AuthKey is the new result's secret auth key (pony-build's add_results
	// returns it); empty when Existed.
	AuthKey string
}

// Ingest validates and stores a bag.
//
// What is stored is what helps later questions: a passing test's output is
// dropped (its verdict, duration and message stay), other tests' output and
// messages are capped with the tail kept. Names, tags and other identifying
// fields over their caps are refused with ETooLarge rather than cut.
func (s *Service) Ingest(ctx context.Context, bag *pony.Bag, opts IngestOptions) (IngestResult, error) {
	if len(opts.IdempotencyKey) > maxIdempotencyKey {
		return IngestResult{}, Errorf(ETooLarge, "Idempotency-Key is %d bytes, over the limit of %d", len(opts.IdempotencyKey), maxIdempotencyKey)
	}
	if opts.IdempotencyKey != "" {
		// A bag whose key opened a run that is not complete completes it
		// (a spooled bag of a live run, delivered later).
		run, err := s.store.RunByIdempotencyKey(ctx, opts.IdempotencyKey)
		switch {
		case err == nil && run.State != RunComplete:
			return s.completeRun(ctx, run, bag, opts.ClientIP)
		case err != nil && ErrorCode(err) != ENotFound:
			return IngestResult{}, fmt.Errorf("look up run: %w", err)
		}
	}
	if err := s.check(bag); err != nil {
		return IngestResult{}, err
	}
	bag.Receipt = &pony.Receipt{ResultKey: NewResultKey(), Time: s.opts.Now().UTC(), ClientIP: opts.ClientIP}
	authKey := newSecret("auth_")
	rec, existed, err := s.store.CreateResult(ctx, bag, CreateOptions{IdempotencyKey: opts.IdempotencyKey, AuthKeyHash: HashToken(authKey), Axes: s.opts.Axes})
	if err != nil {
		return IngestResult{}, fmt.Errorf("store result: %w", err)
	}
	if existed {
		authKey = ""
	}
	return IngestResult{Receipt: rec, Existed: existed, AuthKey: authKey}, nil
}

// check trims bag (see trim) and validates it against the Service's
// limits: ETooLarge when a field is over its cap, EInvalid otherwise.
func (s *Service) check(bag *pony.Bag) error {
	s.trim(bag)
	if err := bag.Validate(s.opts.Limits); err != nil {
		var ve *pony.ValidationError
		if errors.As(err, &ve) {
			code := EInvalid
			for _, p := range ve.Problems {
				if strings.Contains(p, "over the limit") {
					code = ETooLarge
				}
			}
			return &Error{Code: code, Message: err.Error(), Detail: ve.Problems}
		}
		return Errorf(EInvalid, "%v", err)
	}
	return nil
}

// newSecret returns prefix and 256 random bits in hex.
func newSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return prefix + hex.EncodeToString(b[:])
}

// trim applies the storage policy: passing tests keep no output; outputs
// and messages are capped, tail kept.
func (s *Service) trim(bag *pony.Bag) {
	lim := s.opts.Limits
	bag.Receipt = nil
	for i := range bag.Steps {
		st := &bag.Steps[i]
		st.Output = pony.CapTail(st.Output, lim.StepOutput)
		st.Errout = pony.CapTail(st.Errout, lim.StepOutput)
		for j := range st.Tests {
			t := &st.Tests[j]
			if t.Status == pony.StatusPass || t.Status == pony.StatusXPass {
				t.Output = ""
			}
			t.Output = pony.CapTail(t.Output, lim.Output)
			t.Message = pony.CapTail(t.Message, lim.Text)
		}
	}
}

// NewResultKey returns a new result key: the time in milliseconds (so that
// keys sort by arrival) and 64 random bits, in lowercase hex.
func NewResultKey() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return fmt.Sprintf("%011x%s", time.Now().UnixMilli(), hex.EncodeToString(b[:]))
}

// Result returns a stored bag.
func (s *Service) Result(ctx context.Context, key string) (*pony.Bag, error) {
	if key == "" || len(key) > 128 {
		return nil, Errorf(EInvalid, "bad result key %q", key)
	}
	b, err := s.store.Result(ctx, key)
	if err != nil {
		return nil, notFound(err, "no result with key %q", key)
	}
	return b, nil
}

// Results lists a package's results, newest first, a page at a time.
func (s *Service) Results(ctx context.Context, f ResultFilter) (ResultPage, error) {
	if f.Package == "" {
		return ResultPage{}, Errorf(EInvalid, "package is required")
	}
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	f.Limit = min(f.Limit, MaxPageSize)
	f.Tags = normTags(f.Tags)
	return s.store.Results(ctx, f)
}

// Latest returns the newest bag of a package matching the filter.
func (s *Service) Latest(ctx context.Context, f ResultFilter) (*pony.Bag, error) {
	f.Limit, f.Before = 1, ""
	page, err := s.Results(ctx, f)
	if err != nil {
		return nil, err
	}
	if len(page.Results) == 0 {
		return nil, Errorf(ENotFound, "no result for package %q matching the filter", f.Package)
	}
	return s.Result(ctx, page.Results[0].Key)
}

// Packages lists every package by name: those with results, and those
// that expect environments (SetExpected) but never reported. Each has its
// flaky count (the tests Flaky lists over every branch) and, when it
// expects environments, whether each reported in time (MissingExpected, at
// the Service's now). Two Store reads whatever the number of packages.
func (s *Service) Packages(ctx context.Context) ([]PackageSummary, error) {
	pkgs, err := s.store.Packages(ctx, s.opts.Flaky) // the options Flaky ranks with
	if err != nil {
		return nil, err
	}
	expected, err := s.ExpectedAll(ctx)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	for i := range pkgs {
		p := &pkgs[i]
		x, ok := expected[p.Name]
		if !ok {
			continue
		}
		delete(expected, p.Name)
		envs := make([]EnvInfo, len(p.Environments))
		for j, r := range p.Environments {
			envs[j] = EnvInfo{Key: r.Env.Key(), Env: r.Env, LastReceived: r.Received, LastResult: r.Key}
		}
		p.Expected = MissingExpected(x, envs, now)
	}
	for name, x := range expected { // never reported
		if len(x) > 0 {
			pkgs = append(pkgs, PackageSummary{Name: name, Environments: []ResultSummary{}, Expected: MissingExpected(x, nil, now)})
		}
	}
	sort.SliceStable(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return pkgs, nil
}

// Tagsets returns the latest result of each environment of a package,
// marking the stale ones.
func (s *Service) Tagsets(ctx context.Context, pkg string) ([]Tagset, error) {
	if pkg == "" {
		return nil, Errorf(EInvalid, "package is required")
	}
	ts, err := s.store.Tagsets(ctx, pkg)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	for i := range ts {
		ts[i].Stale = now.Sub(ts[i].Latest.Received) >= s.opts.StaleAfter
	}
	return ts, nil
}

// LastForEnv returns the newest bag of exactly this environment (pony-build's
// get_last_result_for_tagset), or ErrNotFound.
func (s *Service) LastForEnv(ctx context.Context, env Env) (*pony.Bag, error) {
	ts, err := s.store.Tagsets(ctx, env.Package)
	if err != nil {
		return nil, err
	}
	key := env.Key()
	for _, t := range ts {
		if t.Env.Key() == key {
			return s.Result(ctx, t.Latest.Key)
		}
	}
	return nil, Errorf(ENotFound, "no result for tagset %s", strings.Join(env.Tagset(), ", "))
}

// TestHistory returns one test's verdicts across results and environments.
func (s *Service) TestHistory(ctx context.Context, f TestHistoryFilter) (TestHistory, error) {
	if f.Package == "" || f.Name == "" {
		return TestHistory{}, Errorf(EInvalid, "package and name are required")
	}
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	f.Limit = min(f.Limit, MaxPageSize)
	return s.store.TestHistory(ctx, f)
}

// BuildRequest asks whether an environment should be built.
type BuildRequest struct {
	Env Env
	// Reserve records that the asker will build now when the answer is yes,
	// so that others are told "may be in build now" (pony-build's
	// reserve_build, on by default there).
	Reserve bool
	// Allowance is how long the build may take; 0 means the environment's
	// last duration, else Options.BuildDuration.
	Allowance time.Duration
}

// ShouldBuild answers pony-build's "should I build?".
func (s *Service) ShouldBuild(ctx context.Context, req BuildRequest) (BuildAnswer, error) {
	env := req.Env
	if env.Package == "" {
		return BuildAnswer{}, Errorf(EInvalid, "package is required")
	}
	env.Tags = normTags(env.Tags)
	requested, err := s.store.TakeBuildRequest(ctx, env)
	if err != nil {
		return BuildAnswer{}, err
	}
	var res *Reservation
	if r, ok, err := s.store.Reservation(ctx, env); err != nil {
		return BuildAnswer{}, err
	} else if ok {
		res = &r
	}
	var last *ResultSummary
	ts, err := s.store.Tagsets(ctx, env.Package)
	if err != nil {
		return BuildAnswer{}, err
	}
	for i := range ts {
		if ts[i].Env.Key() == env.Key() {
			last = &ts[i].Latest
		}
	}
	now := s.opts.Now()
	ans := DecideBuild(now, env, requested, res, last, s.opts.StaleAfter)
	if ans.Build && req.Reserve {
		allow := req.Allowance
		if allow <= 0 {
			allow = s.opts.BuildDuration
			if last != nil && last.Duration > 0 {
				allow = time.Duration(last.Duration * float64(time.Second))
			}
		}
		allow = min(allow, s.opts.MaxBuildAllowance)
		if err := s.store.Reserve(ctx, Reservation{Env: env, Until: now.Add(allow)}); err != nil {
			return BuildAnswer{}, err
		}
	}
	return ans, nil
}

// RequestBuild asks the next machine of an environment to build.
func (s *Service) RequestBuild(ctx context.Context, env Env) error {
	if env.Package == "" {
		return Errorf(EInvalid, "package is required")
	}
	env.Tags = normTags(env.Tags)
	return s.store.RequestBuild(ctx, env)
}

// tokenPrefix starts every secret, so that a leaked token is recognisable.
const tokenPrefix = "pony_"

// CreateToken makes a token for a package ("*" for all) and scope, stores
// its hash, and returns the secret: the only time it is ever shown.
func (s *Service) CreateToken(ctx context.Context, pkg string, scope Scope, name string) (string, Token, error) {
	if pkg == "" {
		return "", Token{}, Errorf(EInvalid, "package is required (use * for every package)")
	}
	if scope != ScopeRead && scope != ScopeWrite {
		return "", Token{}, Errorf(EInvalid, "scope must be read or write, not %q", scope)
	}
	secret := newSecret(tokenPrefix)
	t := Token{ID: secret[len(tokenPrefix) : len(tokenPrefix)+8], Hash: HashToken(secret), Package: pkg, Scope: scope, Name: name, Created: s.opts.Now().UTC()}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// HashToken returns the hex SHA-256 of a token's secret, as stored.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Ping checks that the store can be reached (for health checks).
func (s *Service) Ping(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return &Error{Code: EUnavailable, Message: "the store cannot be reached"}
	}
	return nil
}

// Open reports whether the server runs without tokens: anyone may write.
func (s *Service) Open(ctx context.Context) (bool, error) {
	n, err := s.store.CountTokens(ctx)
	return n == 0, err
}

// Authorize checks that secret may act with scope on pkg. With no token
// stored at all, the server is open: everything is allowed. Reads are
// allowed without a token unless Options.PrivateReads.
func (s *Service) Authorize(ctx context.Context, secret, pkg string, scope Scope) error {
	publicRead := scope == ScopeRead && !s.opts.PrivateReads
	if publicRead && secret == "" {
		return nil
	}
	open, err := s.Open(ctx)
	if err != nil {
		return err
	}
	if open {
		return nil
	}
	if secret == "" {
		return Errorf(EUnauthorized, "a token is required: send Authorization: Bearer <token> (create one with pony-server token create)")
	}
	hash := HashToken(secret)
	t, err := s.store.TokenByHash(ctx, hash)
	if err != nil {
		if ErrorCode(err) == ENotFound {
			return Errorf(EUnauthorized, "unknown token")
		}
		return err
	}
	if subtle.ConstantTimeCompare([]byte(hash), []byte(t.Hash)) != 1 {
		return Errorf(EUnauthorized, "unknown token")
	}
	if publicRead {
		return nil // a known token never takes away what anonymity allows
	}
	if t.Package != "*" && t.Package != pkg {
		return Errorf(EForbidden, "token %s is for package %q, not %q", t.ID, t.Package, pkg)
	}
	if scope == ScopeWrite && t.Scope != ScopeWrite {
		return Errorf(EForbidden, "token %s may only read; writing needs a write token", t.ID)
	}
	return nil
}

// notFound turns a store's not-found error into one naming what was missing.
func notFound(err error, format string, args ...any) error {
	if ErrorCode(err) == ENotFound {
		return Errorf(ENotFound, format, args...)
	}
	return err
}
