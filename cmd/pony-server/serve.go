package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/web"
)

// Config is pony-server's configuration, from flags and environment.
type Config struct {
	Addr         string
	DB           string
	MaxBody      int64
	PrivateReads bool
	StaleAfter   time.Duration
	LogFormat    string
	NoMigrate    bool
	// TrustedProxies are the load balancers whose X-Forwarded-For is
	// believed for the client IP of a receipt.
	TrustedProxies []string
	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// once a shutdown is asked for.
	ShutdownTimeout time.Duration
	// ExpectedFile is the --expected file; Expected what it declares, per
	// package: Run stores it (replacing what each package listed there
	// expected before; other packages keep theirs).
	ExpectedFile string
	Expected     map[string][]aggregator.ExpectedEnv
	// BaseURL is the absolute URL prefix the web feeds link with (e.g.
	// https://pony.example.org); empty means the URL the server listens on.
	BaseURL string
	// RunTimeout is how long an incremental run may go without a word from
	// its client before it is closed as abandoned.
	RunTimeout time.Duration
	// Axes are the client_info keys that make environments of their own
	// (aggregator.Options.Axes).
	Axes []string
	// Flaky tunes flakiness (aggregator.Options.Flaky); Fold the folding
	// of results into test states at ingest, where infrastructure
	// failures are told (gormstore.Options.Fold).
	Flaky aggregator.FlakyOptions
	Fold  aggregator.FoldOptions
}

// DefaultConfig is the configuration with no flag and no environment.
func DefaultConfig() Config {
	return Config{
		Addr:            ":8080",
		DB:              defaultDB,
		MaxBody:         64 << 20,
		StaleAfter:      24 * time.Hour,
		LogFormat:       "text",
		ShutdownTimeout: 30 * time.Second,
		RunTimeout:      aggregator.DefaultRunTimeout,
		Flaky:           aggregator.FlakyOptions{}.WithDefaults(),
		Fold:            aggregator.FoldOptions{}.WithDefaults(),
	}
}

// Main is the running server: ParseFlags, then Run, then Close (the shape
// of benbjohnson/wtf's cmd/wtfd). Tests use it in-process.
type Main struct {
	Config Config

	Stdout, Stderr io.Writer
	Getenv         func(string) string

	Logger     *slog.Logger
	Store      *gormstore.Store
	Service    *aggregator.Service
	HTTPServer *http.Server

	ln       net.Listener
	serveErr chan error
	// stopReaper stops the reaper of abandoned runs; reaperDone is closed
	// when it has stopped.
	stopReaper context.CancelFunc
	reaperDone chan struct{}
}

// NewMain returns a Main with the default configuration, writing to w.
func NewMain(stdout, stderr io.Writer, getenv func(string) string) *Main {
	return &Main{Config: DefaultConfig(), Stdout: stdout, Stderr: stderr, Getenv: getenv, serveErr: make(chan error, 1)}
}

// ParseFlags reads the serve command's flags and PONY_ADDR, PONY_DB,
// PONY_EXPECTED; it reads and checks the --expected file.
func (m *Main) ParseFlags(ctx context.Context, args []string) error {
	e := &env{stdout: m.Stdout, stderr: m.Stderr, getenv: m.Getenv}
	c := &m.Config
	if a := m.Getenv("PONY_ADDR"); a != "" {
		c.Addr = a
	}
	if f := m.Getenv("PONY_EXPECTED"); f != "" {
		c.ExpectedFile = f
	}
	if u := m.Getenv("PONY_BASE_URL"); u != "" {
		c.BaseURL = u
	}
	fs := newFlagSet(e, "serve", "[serve] [flags]")
	fs.StringVar(&c.Addr, "addr", c.Addr, "`address` to listen on, host:port; :0 picks a free port (env PONY_ADDR)")
	db := dbFlag(fs, m.Getenv)
	maxBody := byteSize(c.MaxBody)
	fs.Var(&maxBody, "max-body", "largest request body accepted; larger ones get 413 (e.g. 64MiB, 512KiB)")
	fs.BoolVar(&c.PrivateReads, "private-reads", c.PrivateReads, "reads need a token too, once any token exists")
	fs.DurationVar(&c.StaleAfter, "stale-after", c.StaleAfter, "age past which an environment's latest result is stale (and should-build says build)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "request log `format`: text or json (on stderr)")
	fs.BoolVar(&c.NoMigrate, "no-migrate", c.NoMigrate, "do not migrate the schema at start; refuse to run on a stale one (run 'pony-server migrate' first)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long in-flight requests may take to finish on SIGINT/SIGTERM")
	fs.StringVar(&c.ExpectedFile, "expected", c.ExpectedFile, "JSON `file` of the environments each package expects results from, e.g. {\"PKG\": [{\"name\": \"linux\", \"match\": {\"host\": \"ci-1\", \"tags\": [\"nightly\"]}, \"interval\": \"24h\"}]} (env PONY_EXPECTED)")
	fs.DurationVar(&c.RunTimeout, "run-timeout", c.RunTimeout, "how long an incremental run may go without a word from its client before it is closed as abandoned (shown as incomplete)")
	fs.StringVar(&c.BaseURL, "base-url", c.BaseURL, "absolute `URL` people reach the server at, for the links in the Atom/RSS feeds (default: the listening address; env PONY_BASE_URL)")
	fs.IntVar(&c.Flaky.Window, "flaky-window", c.Flaky.Window, "how many of a test's latest scored verdicts per environment flakiness looks at (1 to 64)")
	fs.IntVar(&c.Flaky.MinSample, "flaky-min-sample", c.Flaky.MinSample, "scored verdicts a flip rate needs before it counts; below it a test with no other signal is new")
	fs.Float64Var(&c.Flaky.FlipThreshold, "flaky-threshold", c.Flaky.FlipThreshold, "flip rate (flips per verdict in the window) at or over which a test is flaky, over 0 and at most 1")
	fs.IntVar(&c.Flaky.BrokenAfter, "broken-after", c.Flaky.BrokenAfter, "a test whose latest N scored verdicts all failed (none retried into a pass) is broken, not flaky")
	fs.IntVar(&c.Flaky.RecoverAfter, "recover-after", c.Flaky.RecoverAfter, "clean passes in a row after which a flaky test has recovered")
	fs.IntVar(&c.Fold.InfraMinTests, "infra-min-tests", c.Fold.InfraMinTests, "a result of at least N tests in which --infra-fraction of them fail is an infrastructure failure (shown, not scored); applies to results received from now on")
	fs.Float64Var(&c.Fold.InfraFraction, "infra-fraction", c.Fold.InfraFraction, "the share of a result's tests that must fail at once for an infrastructure failure, over 0 and at most 1")
	axes := fs.String("axes", m.Getenv("PONY_AXES"), "comma-separated client_info `keys` that make environments of their own besides host, arch, runtime and tags, e.g. db,python: results that differ in one are told apart, each tagged KEY=VALUE (env PONY_AXES)")
	proxies := fs.String("trusted-proxies", "", "comma-separated `IPs or CIDRs` of load balancers whose X-Forwarded-For gives the client IP")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.DB, c.MaxBody = *db, int64(maxBody)
	axisKeys, err := aggregator.ParseAxisKeys(*axes)
	if err != nil {
		return fmt.Errorf("--axes: %w", err)
	}
	c.Axes = axisKeys
	for _, p := range strings.Split(*proxies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if err := (httpapi.Options{TrustedProxies: c.TrustedProxies}).Validate(); err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--base-url: want an absolute http(s) URL such as https://pony.example.org, got %q", c.BaseURL)
		}
		c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	}
	switch {
	case c.Flaky.Window < 1 || c.Flaky.Window > 64:
		return fmt.Errorf("--flaky-window %d: want 1 to 64 (the verdicts a test state keeps)", c.Flaky.Window)
	case c.Flaky.MinSample < 1 || c.Flaky.BrokenAfter < 1 || c.Flaky.RecoverAfter < 1 || c.Fold.InfraMinTests < 1:
		return errors.New("--flaky-min-sample, --broken-after, --recover-after and --infra-min-tests must be at least 1")
	case !(c.Flaky.FlipThreshold > 0 && c.Flaky.FlipThreshold <= 1) || !(c.Fold.InfraFraction > 0 && c.Fold.InfraFraction <= 1):
		return errors.New("--flaky-threshold and --infra-fraction must be over 0 and at most 1")
	}
	if c.StaleAfter <= 0 || c.ShutdownTimeout <= 0 || c.RunTimeout <= 0 {
		return errors.New("--stale-after, --shutdown-timeout and --run-timeout must be positive")
	}
	if _, err := newLogger(io.Discard, c.LogFormat); err != nil {
		return err
	}
	if c.ExpectedFile != "" {
		data, err := os.ReadFile(c.ExpectedFile)
		if err != nil {
			return fmt.Errorf("--expected: %w", err)
		}
		if c.Expected, err = httpapi.ParseExpectedFile(c.ExpectedFile, data); err != nil {
			return fmt.Errorf("--expected: %w", err)
		}
	}
	return nil
}

// storeExpected stores the --expected environments, package by package
// in name order.
func (m *Main) storeExpected(ctx context.Context) error {
	pkgs := make([]string, 0, len(m.Config.Expected))
	for p := range m.Config.Expected {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if err := m.Service.SetExpected(ctx, p, m.Config.Expected[p]); err != nil {
			return fmt.Errorf("--expected %s: store the environments of package %q: %w", m.Config.ExpectedFile, p, err)
		}
	}
	if len(pkgs) > 0 {
		m.Logger.Info("expected environments loaded", "file", m.Config.ExpectedFile, "packages", len(pkgs))
	}
	return nil
}

// Run opens the database (migrating it unless NoMigrate), starts serving in
// the background and prints the listening URL on stdout. It returns once
// the server listens; Err reports a failure to serve.
func (m *Main) Run(ctx context.Context) error {
	logger, err := newLogger(m.Stderr, m.Config.LogFormat)
	if err != nil {
		return err
	}
	m.Logger = logger
	if m.Store, err = openStore(ctx, m.Config.DB, !m.Config.NoMigrate, logger, m.Config.Fold); err != nil {
		return err
	}
	m.Service = aggregator.New(m.Store, aggregator.Options{StaleAfter: m.Config.StaleAfter, PrivateReads: m.Config.PrivateReads, RunTimeout: m.Config.RunTimeout, Axes: m.Config.Axes, Flaky: m.Config.Flaky})
	open, err := m.Service.Open(ctx)
	if err != nil {
		return fmt.Errorf("count tokens: %w", err)
	}
	if open {
		warnOpen(m.Stderr, m.Config.DB)
	}
	if err := m.storeExpected(ctx); err != nil {
		return err
	}
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	baseURL := m.Config.BaseURL
	if baseURL == "" {
		baseURL = m.URL()
	}
	pages, err := web.New(m.Service, web.Options{Logger: logger, BaseURL: baseURL})
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	api := httpapi.New(m.Service, httpapi.Options{MaxBody: m.Config.MaxBody, Logger: logger, TrustedProxies: m.Config.TrustedProxies, Mount: pages.Register})
	m.HTTPServer = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Shutdown waits for requests to end; the pages' event streams end only
	// when told.
	m.HTTPServer.RegisterOnShutdown(pages.Close)
	m.startReaper(ctx)
	go func() {
		if err := m.HTTPServer.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.serveErr <- err
		}
		close(m.serveErr)
	}()
	fmt.Fprintf(m.Stdout, "pony-server listening on %s\n", m.URL())
	logger.Info("serving", "url", m.URL(), "db", redactDSN(m.Config.DB), "max_body", formatSize(m.Config.MaxBody), "private_reads", m.Config.PrivateReads)
	return nil
}

// reaperPeriod is how often the reaper looks for abandoned runs:
// a quarter of the run timeout, at most a minute, at least a second.
func reaperPeriod(timeout time.Duration) time.Duration {
	return max(min(timeout/4, time.Minute), time.Second)
}

// startReaper starts the goroutine that closes runs silent for RunTimeout
// as abandoned. Every replica runs one: the store's conditional UPDATE makes
// that safe.
func (m *Main) startReaper(ctx context.Context) {
	ctx, m.stopReaper = context.WithCancel(context.WithoutCancel(ctx))
	m.reaperDone = make(chan struct{})
	period := reaperPeriod(m.Config.RunTimeout)
	go func() {
		defer close(m.reaperDone)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			n, err := m.Service.ReapRuns(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				m.Logger.Warn("reap abandoned runs", "err", err)
			case n > 0:
				m.Logger.Info("runs abandoned: no word from their clients", "runs", n, "run_timeout", m.Config.RunTimeout)
			}
		}
	}()
}

// URL is the server's base URL, with the port resolved when --addr asked
// for :0.
func (m *Main) URL() string {
	if m.ln == nil {
		return ""
	}
	addr := m.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Err is closed when the server stops serving, after sending the error
// that stopped it, if any.
func (m *Main) Err() <-chan error { return m.serveErr }

// Close stops accepting connections, lets in-flight requests finish (up to
// ShutdownTimeout), and closes the database.
func (m *Main) Close() error {
	var errs []error
	if m.HTTPServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
		if err := m.HTTPServer.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down: %w", err))
			m.HTTPServer.Close()
		}
		cancel()
	} else if m.ln != nil {
		m.ln.Close()
	}
	if m.stopReaper != nil {
		m.stopReaper()
		<-m.reaperDone
	}
	if m.Store != nil {
		if err := m.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close database: %w", err))
		}
	}
	return errors.Join(errs...)
}

// warnOpen tells, loudly, that a server without tokens lets anyone write.
func warnOpen(w io.Writer, db string) {
	dbArg := ""
	if db != defaultDB {
		dbArg = " --db " + shellQuote(redactDSN(db))
	}
	lines := []string{
		strings.Repeat("*", 72),
		"WARNING: pony-server has NO API TOKEN, so it runs OPEN: anyone who can",
		"WARNING: reach it can write results into any package (and read them).",
		"WARNING: To require a token, create one per package (shown only once):",
		"WARNING:   pony-server token create" + dbArg + " --package PKG --scope write",
		"WARNING: and give it to the build machines (pony-report --token or PONY_TOKEN).",
		"WARNING: Once a token exists, writes need one; add --private-reads for reads.",
		strings.Repeat("*", 72),
	}
	fmt.Fprintln(w, strings.Join(lines, "\n"))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runServe is `pony-server [serve]`: serve until SIGINT or SIGTERM, then
// shut down gracefully.
func runServe(ctx context.Context, e *env, args []string) int {
	m := NewMain(e.stdout, e.stderr, e.getenv)
	if err := m.ParseFlags(ctx, args); err != nil {
		return flagExit(e, err)
	}
	if err := m.Run(ctx); err != nil {
		e.say("%v", err)
		m.Close()
		return exitFail
	}
	code := exitOK
	select {
	case <-ctx.Done():
		m.Logger.Info("shutting down: finishing in-flight requests", "timeout", m.Config.ShutdownTimeout)
	case err := <-m.Err():
		e.say("serve: %v", err)
		code = exitFail
	}
	if err := m.Close(); err != nil {
		e.say("%v", err)
		return exitFail
	}
	m.Logger.Info("stopped")
	return code
}
