// Package gormstore is the aggregator.Store on GORM: SQLite (the default,
// one embedded file) and PostgreSQL (for several pony-server replicas).
//
// The row types are unexported and never leave the package: the methods take
// and return pony and aggregator types. The schema is created and changed
// only by the versioned migrations in migrate.go; Open refuses a database
// whose schema is older or newer than this code unless told to migrate.
package gormstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/pony-build/pony/aggregator"
)

// Options configure a Store. Zero fields take the defaults.
type Options struct {
	// Logger receives the store's messages (default slog.Default()).
	Logger *slog.Logger
	// Migrate brings the schema up to date at Open. Without it, Open
	// refuses a database whose schema is not exactly this code's.
	Migrate bool
	// MaxOpenConns caps the connection pool: on PostgreSQL the whole pool
	// (default 16), on SQLite the readers (default 4; writes always go
	// through one connection of their own, SQLite having one writer).
	MaxOpenConns int
	// ConnMaxLifetime recycles PostgreSQL connections (default 30 min), so
	// that a replica behind a connection balancer rebalances.
	ConnMaxLifetime time.Duration
	// SlowQuery logs statements slower than this at Warn level (default
	// 2 s; negative: never).
	SlowQuery time.Duration
	// Fold tunes the folding of each result into the test states (zero
	// fields take aggregator's defaults: 20 tests, 0.5).
	Fold aggregator.FoldOptions
	// StateCache is how many (package, branch) readings of the test states
	// the store keeps in memory (default 8; negative: none). See
	// TestStates: a cached reading is used only while the database says
	// nothing was ingested since, so it is right with several replicas.
	StateCache int

	// skipUpkeep stores results without folding them into test_states,
	// envs and changes: only the scale benchmark sets it, to measure the
	// upkeep's cost against ingest without it.
	skipUpkeep bool

	// sqliteDriver chooses the SQLite driver: "" for the pure-Go
	// github.com/glebarez/sqlite (modernc.org/sqlite); the tests register
	// "mattn" (cgo) to compare the two.
	sqliteDriver string
}

// Dialects.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// Store is the aggregator.Store on a GORM database. It is safe for
// concurrent use.
type Store struct {
	// w takes every write, r every read. On SQLite they are two pools on
	// one file: w has a single connection (SQLite has one writer at a time;
	// queueing in Go instead of in SQLite means no SQLITE_BUSY under load)
	// and begins its transactions IMMEDIATE; r has several, which WAL lets
	// read while the writer writes. On PostgreSQL both are the same pool.
	w, r    *gorm.DB
	dialect string
	log     *slog.Logger
	pools   []*sql.DB
	fold    aggregator.FoldOptions
	// skipUpkeep: see Options.skipUpkeep.
	skipUpkeep bool
	// states caches TestStates' readings (see stateCache).
	states *stateCache
	// statesRead counts the test states TestStates read from the
	// database (the tests see what the cache spares).
	statesRead atomic.Int64
}

var _ aggregator.Store = (*Store)(nil)

// sqliteDialectors opens a SQLite DSN (a file: URI with query parameters)
// with a named driver. The pure-Go driver is the only one in the server's
// build; the tests add "mattn".
var sqliteDialectors = map[string]func(dsn string) gorm.Dialector{
	"": sqlite.Open,
}

// sqlitePragmas are set on every SQLite connection.
//
// synchronous(FULL) with WAL: a commit returns after the WAL is fsync'ed,
// so an acknowledged result survives a kill -9 of the server *and* a power
// loss or kernel crash. NORMAL would survive the kill -9 only (the WAL
// would sit in the OS cache), and the cost of FULL is one fsync per
// result, small beside the rows of a bag. foreign_keys is off by default
// in SQLite; busy_timeout covers other processes on the same file.
var sqlitePragmas = []string{"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "busy_timeout(10000)"}

// mattnParams are sqlitePragmas in mattn/go-sqlite3's DSN spelling.
var mattnParams = []string{"_journal_mode=WAL", "_synchronous=FULL", "_foreign_keys=1", "_busy_timeout=10000"}

// Open opens the store named by dsn: "" is the SQLite file pony.db; a path,
// sqlite:PATH or file:PATH is a SQLite file; postgres://… or
// postgresql://… is a PostgreSQL database.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	s, err := open(ctx, dsn, opts)
	if err != nil {
		return nil, err
	}
	if opts.Migrate {
		err = s.Migrate(ctx)
	} else {
		err = s.checkSchema(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// open connects without looking at the schema.
func open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SlowQuery == 0 {
		opts.SlowQuery = 2 * time.Second
	}
	s := &Store{log: opts.Logger, fold: opts.Fold.WithDefaults(), skipUpkeep: opts.skipUpkeep}
	switch {
	case opts.StateCache == 0:
		s.states = newStateCache(8)
	case opts.StateCache > 0:
		s.states = newStateCache(opts.StateCache)
	}
	var err error
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		err = s.openPostgres(dsn, opts)
	} else {
		err = s.openSQLite(dsn, opts)
	}
	if err == nil {
		err = s.ping(ctx)
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func gormConfig(opts Options) *gorm.Config {
	return &gorm.Config{
		// Every write that needs a transaction opens one itself.
		SkipDefaultTransaction: true,
		// Unique violations become gorm.ErrDuplicatedKey on both dialects.
		TranslateError: true,
		Logger:         logger.NewSlogLogger(opts.Logger, logger.Config{SlowThreshold: max(opts.SlowQuery, 0), LogLevel: logger.Warn, IgnoreRecordNotFoundError: true, ParameterizedQueries: true}),
		NowFunc:        func() time.Time { return time.Now().UTC() },
	}
}

func (s *Store) openPostgres(dsn string, opts Options) error {
	s.dialect = dialectPostgres
	db, err := gorm.Open(postgres.Open(dsn), gormConfig(opts))
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	s.w, s.r = db, db
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	s.pools = append(s.pools, sqlDB)
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 16
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	life := opts.ConnMaxLifetime
	if life <= 0 {
		life = 30 * time.Minute
	}
	sqlDB.SetConnMaxLifetime(life)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	return nil
}

// sqlitePath returns the file a SQLite DSN names and the query parameters
// the user added to a file: URI.
func sqlitePath(dsn string) (string, url.Values, error) {
	if dsn == "" {
		return "pony.db", url.Values{}, nil
	}
	dsn = strings.TrimPrefix(dsn, "sqlite:")
	q := url.Values{}
	if strings.HasPrefix(dsn, "file:") {
		dsn = strings.TrimPrefix(dsn, "file:")
		if i := strings.IndexByte(dsn, '?'); i >= 0 {
			var err error
			if q, err = url.ParseQuery(dsn[i+1:]); err != nil {
				return "", nil, fmt.Errorf("sqlite dsn %q: %w", dsn, err)
			}
			dsn = dsn[:i]
		}
	}
	if dsn == "" || dsn == ":memory:" || q.Get("mode") == "memory" {
		return "", nil, fmt.Errorf("sqlite dsn %q: an in-memory database is not supported (the store opens two connection pools); name a file", dsn)
	}
	if strings.Contains(dsn, "://") {
		return "", nil, fmt.Errorf("database %q: want a SQLite file path or postgres://…", dsn)
	}
	return dsn, q, nil
}

func (s *Store) openSQLite(dsn string, opts Options) error {
	s.dialect = dialectSQLite
	path, user, err := sqlitePath(dsn)
	if err != nil {
		return err
	}
	open, ok := sqliteDialectors[opts.sqliteDriver]
	if !ok {
		return fmt.Errorf("unknown sqlite driver %q", opts.sqliteDriver)
	}
	mk := func(txlock string) string {
		q := url.Values{}
		for k, v := range user {
			q[k] = v
		}
		if opts.sqliteDriver == "mattn" {
			for _, p := range mattnParams {
				k, v, _ := strings.Cut(p, "=")
				q.Set(k, v)
			}
			q.Set("_txlock", txlock)
		} else {
			q["_pragma"] = append(q["_pragma"], sqlitePragmas...)
			q.Set("_txlock", txlock)
		}
		// A file: URI: escape what would end the path early.
		p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
		return "file:" + p + "?" + q.Encode()
	}
	w, err := gorm.Open(open(mk("immediate")), gormConfig(opts))
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	wdb, err := w.DB()
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.w = w
	s.pools = append(s.pools, wdb)
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)

	r, err := gorm.Open(open(mk("deferred")), gormConfig(opts))
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	rdb, err := r.DB()
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.r = r
	s.pools = append(s.pools, rdb)
	n := opts.MaxOpenConns
	if n <= 0 {
		n = 4
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxLifetime(0)
	return nil
}

func (s *Store) ping(ctx context.Context) error {
	for _, p := range s.pools {
		if err := p.PingContext(ctx); err != nil {
			return fmt.Errorf("open %s store: %w", s.dialect, err)
		}
	}
	if s.dialect == dialectSQLite {
		// The writer makes the file WAL; check that it took (a network
		// file system may refuse).
		var mode string
		if err := s.w.WithContext(ctx).Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil {
			return fmt.Errorf("open sqlite store: %w", err)
		}
		if !strings.EqualFold(mode, "wal") {
			return fmt.Errorf("open sqlite store: journal_mode is %q, want wal", mode)
		}
	}
	return nil
}

// Ping checks that every connection pool reaches the database.
func (s *Store) Ping(ctx context.Context) error {
	for _, p := range s.pools {
		if err := p.PingContext(ctx); err != nil {
			return storeErr("ping", err)
		}
	}
	return nil
}

// Dialect names the database: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.dialect }

// Close closes the store's connections.
func (s *Store) Close() error {
	var errs []error
	for _, p := range s.pools {
		errs = append(errs, p.Close())
	}
	s.pools = nil
	return errors.Join(errs...)
}

// storeErr wraps a storage error, turning a cancelled or timed-out context
// into the context's own error and "record not found" into
// aggregator.ErrNotFound.
func storeErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s: %w", what, aggregator.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}
