package gormstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migrationTable records which migrations ran, one row per migration id.
const migrationTable = "schema_migrations"

// advisoryLockKey is the pg_advisory_lock key that serialises migrations of
// several pony-server replicas starting at once ("pony" in ASCII).
const advisoryLockKey = 0x706f6e79

// migrations are the schema's history, oldest first. Never edit one that
// was released: add a new one. Each freezes the row structs it needs inside
// its function, so that later changes to rows.go cannot change what an old
// migration does.
var migrations = []*gormigrate.Migration{
	{ID: "0001_tables", Migrate: migrate0001Tables},
	{ID: "0002_query_indexes", Migrate: migrate0002QueryIndexes},
	{ID: "0003_states", Migrate: migrate0003States},
	{ID: "0004_runs", Migrate: migrate0004Runs},
}

// migrate0001Tables creates the tables with their primary keys, unique
// constraints and foreign keys.
//
// Types are chosen to mean the same on both dialects: text for every string
// (PostgreSQL's text and varchar are one type; SQLite ignores lengths),
// double precision for seconds (GORM would pick numeric on PostgreSQL),
// booleans as GORM maps them (boolean; numeric 0/1 on SQLite), and
// timestamps written in UTC with millisecond precision (timestamptz;
// datetime text on SQLite).
func migrate0001Tables(tx *gorm.DB) error {
	// The local type names give the table names (result → results).
	type result struct {
		ID             int64     `gorm:"primaryKey;autoIncrement"`
		ResultKey      string    `gorm:"type:text;not null;uniqueIndex:uq_results_result_key"`
		IdempotencyKey *string   `gorm:"type:text;uniqueIndex:uq_results_idempotency_key"`
		AuthKeyHash    string    `gorm:"type:text;not null"`
		Package        string    `gorm:"type:text;not null"`
		Host           string    `gorm:"type:text;not null"`
		Arch           string    `gorm:"type:text;not null"`
		Runtime        string    `gorm:"type:text;not null"`
		EnvKey         string    `gorm:"type:text;not null"`
		Tags           string    `gorm:"type:text;not null"`
		Commit         string    `gorm:"column:commit;type:text;not null"`
		Branch         string    `gorm:"type:text;not null"`
		BuildURL       string    `gorm:"column:build_url;type:text;not null"`
		Success        bool      `gorm:"not null"`
		Incomplete     bool      `gorm:"not null"`
		Duration       float64   `gorm:"type:double precision;not null"`
		ReceivedAt     time.Time `gorm:"not null"`
		ClientIP       string    `gorm:"column:client_ip;type:text;not null"`
		NTests         int       `gorm:"not null"`
		NPass          int       `gorm:"not null"`
		NFail          int       `gorm:"not null"`
		NError         int       `gorm:"not null"`
		NSkip          int       `gorm:"not null"`
		NXFail         int       `gorm:"column:n_xfail;not null"`
		NXPass         int       `gorm:"column:n_xpass;not null"`
		NFlaky         int       `gorm:"not null"`
		NAttempts      int       `gorm:"not null"`
		ClientInfo     string    `gorm:"type:text;not null"`
	}
	type resultTag struct {
		ResultID int64  `gorm:"primaryKey;autoIncrement:false"`
		Tag      string `gorm:"primaryKey;type:text"`
		Result   result `gorm:"foreignKey:ResultID;constraint:OnDelete:CASCADE"`
	}
	type step struct {
		ID         int64   `gorm:"primaryKey;autoIncrement"`
		ResultID   int64   `gorm:"not null"`
		Idx        int     `gorm:"not null"`
		Type       string  `gorm:"type:text;not null"`
		Name       string  `gorm:"type:text;not null"`
		Command    string  `gorm:"type:text;not null"`
		Status     int     `gorm:"not null"`
		Output     string  `gorm:"type:text;not null"`
		Errout     string  `gorm:"type:text;not null"`
		Duration   float64 `gorm:"type:double precision;not null"`
		Format     string  `gorm:"type:text;not null"`
		Incomplete bool    `gorm:"not null"`
		Extra      *string `gorm:"type:text"`
		Result     result  `gorm:"foreignKey:ResultID;constraint:OnDelete:CASCADE"`
	}
	type test struct {
		ID      int64  `gorm:"primaryKey;autoIncrement"`
		Package string `gorm:"type:text;not null;uniqueIndex:uq_tests_identity,priority:1"`
		Suite   string `gorm:"type:text;not null;uniqueIndex:uq_tests_identity,priority:2"`
		Name    string `gorm:"type:text;not null;uniqueIndex:uq_tests_identity,priority:3"`
	}
	type verdict struct {
		ID         int64   `gorm:"primaryKey;autoIncrement"`
		ResultID   int64   `gorm:"not null"`
		StepID     int64   `gorm:"not null"`
		TestID     int64   `gorm:"not null"`
		Idx        int     `gorm:"not null"`
		Attempt    int     `gorm:"not null"`
		Status     string  `gorm:"type:text;not null"`
		Duration   float64 `gorm:"type:double precision;not null"`
		Message    string  `gorm:"type:text;not null"`
		Output     string  `gorm:"type:text;not null"`
		File       string  `gorm:"type:text;not null"`
		Line       int     `gorm:"not null"`
		Properties *string `gorm:"type:text"`
		Final      bool    `gorm:"not null"`
		Attempts   int     `gorm:"not null"`
		RetryFlake bool    `gorm:"not null"`
		Result     result  `gorm:"foreignKey:ResultID;constraint:OnDelete:CASCADE"`
		Step       step    `gorm:"foreignKey:StepID;constraint:OnDelete:CASCADE"`
		Test       test    `gorm:"foreignKey:TestID"`
	}
	type apiToken struct {
		ID      string    `gorm:"primaryKey;type:text"`
		Hash    string    `gorm:"type:text;not null;uniqueIndex:uq_api_tokens_hash"`
		Package string    `gorm:"type:text;not null"`
		Scope   string    `gorm:"type:text;not null"`
		Name    string    `gorm:"type:text;not null"`
		Created time.Time `gorm:"not null"`
	}
	type buildReservation struct {
		EnvKey  string    `gorm:"primaryKey;type:text"`
		Package string    `gorm:"type:text;not null"`
		Host    string    `gorm:"type:text;not null"`
		Arch    string    `gorm:"type:text;not null"`
		Runtime string    `gorm:"type:text;not null"`
		Tags    string    `gorm:"type:text;not null"`
		Until   time.Time `gorm:"not null"`
	}
	type buildRequest struct {
		EnvKey  string    `gorm:"primaryKey;type:text"`
		Package string    `gorm:"type:text;not null"`
		Host    string    `gorm:"type:text;not null"`
		Arch    string    `gorm:"type:text;not null"`
		Runtime string    `gorm:"type:text;not null"`
		Tags    string    `gorm:"type:text;not null"`
		Created time.Time `gorm:"not null"`
	}
	return tx.Migrator().CreateTable(&result{}, &resultTag{}, &step{}, &test{}, &verdict{}, &apiToken{}, &buildReservation{}, &buildRequest{})
}

// migrate0002QueryIndexes adds the indexes the queries need; the same SQL
// runs on both dialects.
func migrate0002QueryIndexes(tx *gorm.DB) error {
	for _, q := range []string{
		// Results: a package's newest first; per environment (Tagsets,
		// Packages, LastForEnv); per branch.
		`CREATE INDEX idx_results_package_id ON results (package, id DESC)`,
		`CREATE INDEX idx_results_package_env ON results (package, env_key, id DESC)`,
		`CREATE INDEX idx_results_package_branch ON results (package, branch, id DESC)`,
		// Tag filters: which results have a tag.
		`CREATE INDEX idx_result_tags_tag ON result_tags (tag, result_id)`,
		// A result's steps, in order.
		`CREATE INDEX idx_steps_result ON steps (result_id, idx)`,
		// One test's history, newest first; a result's verdicts in order.
		`CREATE INDEX idx_verdicts_test_result ON verdicts (test_id, result_id DESC)`,
		`CREATE INDEX idx_verdicts_result ON verdicts (result_id, step_id, idx)`,
		`CREATE INDEX idx_verdicts_step ON verdicts (step_id)`,
		// The few retry flakes of the latest results (Packages' flaky count).
		`CREATE INDEX idx_verdicts_flake ON verdicts (result_id, test_id) WHERE retry_flake`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// migrate0003States adds the kept-current state of each test per
// environment and branch (test_states), the environments (envs), the
// environments a package expects (expected_envs), and each result's changes
// and infrastructure-failure flag; then it folds the results already stored,
// oldest first, into the new tables (see backfillStates).
func migrate0003States(tx *gorm.DB) error {
	// The fold's state is one packed column (see packState): the pure-Go
	// SQLite driver pays for each column read and each parameter bound, and
	// the matrix reads every state of a package. The states of a package
	// are read by environment (envs lists a package's), which the primary
	// key's order serves: no other index to keep up at ingest. On SQLite
	// the table is WITHOUT ROWID: the rows live in the primary key's b-tree,
	// one b-tree write per state instead of two.
	stateTable := `CREATE TABLE test_states (env_key text NOT NULL, branch text NOT NULL, test_id bigint NOT NULL,
		package text NOT NULL, state %s NOT NULL, PRIMARY KEY (env_key, branch, test_id))%s`
	if tx.Dialector.Name() == "postgres" {
		// Each result updates its tests' rows: room on the page lets
		// PostgreSQL update them in place (HOT, no index entry to add).
		stateTable = fmt.Sprintf(stateTable, "bytea", " WITH (fillfactor = 70)")
	} else {
		stateTable = fmt.Sprintf(stateTable, "blob", " WITHOUT ROWID")
	}
	if err := tx.Exec(stateTable).Error; err != nil {
		return fmt.Errorf("create test_states: %w", err)
	}
	type env struct {
		EnvKey        string    `gorm:"primaryKey;type:text"`
		Package       string    `gorm:"type:text;not null"`
		Host          string    `gorm:"type:text;not null"`
		Arch          string    `gorm:"type:text;not null"`
		Runtime       string    `gorm:"type:text;not null"`
		Tags          string    `gorm:"type:text;not null"`
		LastResultID  int64     `gorm:"not null"`
		LastResultKey string    `gorm:"type:text;not null"`
		LastReceived  time.Time `gorm:"not null"`
		ClientInfo    string    `gorm:"type:text;not null"`
	}
	type expectedEnv struct {
		Package    string `gorm:"primaryKey;type:text"`
		Idx        int    `gorm:"primaryKey;autoIncrement:false"`
		Name       string `gorm:"type:text;not null"`
		Match      string `gorm:"type:text;not null"`
		IntervalMs int64  `gorm:"column:interval_ms;not null"`
	}
	if err := tx.Migrator().CreateTable(&env{}, &expectedEnv{}); err != nil {
		return err
	}
	for _, q := range []string{
		`CREATE INDEX idx_envs_package ON envs (package)`,
		`ALTER TABLE results ADD COLUMN changes text`,
		`ALTER TABLE results ADD COLUMN infra boolean NOT NULL DEFAULT false`,
		// The previous result of an environment and branch, by receipt.
		`CREATE INDEX idx_results_env_branch_received ON results (package, env_key, branch, received_at DESC, result_key DESC)`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return backfillStates(tx)
}

// migrate0004Runs adds the incremental runs (DESIGN.md §5): runs, one row
// per run (its environment like results', its client_info, state, last
// progress, the number of steps received, and the SHA-256 of its update
// token), and run_steps, each step received as the JSON of a pony.Step.
// A complete run keeps its row (a repeated finish finds its receipt there)
// but not its steps: they live in the result.
func migrate0004Runs(tx *gorm.DB) error {
	type run struct {
		ID              int64     `gorm:"primaryKey;autoIncrement"`
		ResultKey       string    `gorm:"type:text;not null;uniqueIndex:uq_runs_result_key"`
		IdempotencyKey  string    `gorm:"type:text;not null;uniqueIndex:uq_runs_idempotency_key"`
		UpdateTokenHash string    `gorm:"type:text;not null"`
		Package         string    `gorm:"type:text;not null"`
		Host            string    `gorm:"type:text;not null"`
		Arch            string    `gorm:"type:text;not null"`
		Runtime         string    `gorm:"type:text;not null"`
		EnvKey          string    `gorm:"type:text;not null"`
		Tags            string    `gorm:"type:text;not null"`
		ClientInfo      string    `gorm:"type:text;not null"`
		State           string    `gorm:"type:text;not null"`
		Progress        *string   `gorm:"type:text"`
		Started         time.Time `gorm:"not null"`
		Updated         time.Time `gorm:"not null"`
		ClientIP        string    `gorm:"column:client_ip;type:text;not null"`
		Steps           int       `gorm:"not null"`
	}
	type runStep struct {
		RunID int64  `gorm:"primaryKey;autoIncrement:false"`
		Seq   int    `gorm:"primaryKey;autoIncrement:false"`
		Step  string `gorm:"type:text;not null"`
		Run   run    `gorm:"foreignKey:RunID;constraint:OnDelete:CASCADE"`
	}
	if err := tx.Migrator().CreateTable(&run{}, &runStep{}); err != nil {
		return err
	}
	for _, q := range []string{
		// The reaper: running runs idle for long.
		`CREATE INDEX idx_runs_state_updated ON runs (state, updated)`,
		// A package's runs that are not complete.
		`CREATE INDEX idx_runs_package_state ON runs (package, state, started DESC)`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func (s *Store) migrator(db *gorm.DB) *gormigrate.Gormigrate {
	return gormigrate.New(db, &gormigrate.Options{
		TableName:                 migrationTable,
		IDColumnName:              "id",
		IDColumnSize:              255,
		UseTransaction:            true,
		ValidateUnknownMigrations: true,
	}, migrations)
}

// Migrate brings the schema up to date, running each missing migration in a
// transaction of its own. On PostgreSQL it holds an advisory lock meanwhile,
// so that replicas starting together migrate one after the other. It
// refuses a schema newer than this code.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, "")
}

// migrateTo runs the migrations up to id ("" for all of them).
func (s *Store) migrateTo(ctx context.Context, id string) error {
	db := s.w.WithContext(ctx)
	if s.dialect == dialectPostgres {
		sqlDB, err := s.w.DB()
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		conn, err := sqlDB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		// Session-level: held by this connection until unlocked or closed.
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", advisoryLockKey); err != nil {
			return fmt.Errorf("migrate: take advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", advisoryLockKey) //nolint:errcheck // closing the connection unlocks too
	}
	st, err := s.schemaState(ctx)
	if err != nil {
		return err
	}
	if len(st.unknown) > 0 {
		return errNewer(st)
	}
	m := s.migrator(db)
	if id == "" {
		err = m.Migrate()
	} else {
		err = m.MigrateTo(id)
	}
	if err != nil {
		return fmt.Errorf("migrate %s schema: %w", s.dialect, err)
	}
	if len(st.missing) > 0 && id == "" {
		s.log.InfoContext(ctx, "store schema migrated", "dialect", s.dialect, "applied", strings.Join(st.missing, ", "))
	}
	return nil
}

// schemaState is what the database says about the migrations.
type schemaState struct {
	missing []string // known migrations not yet applied, in order
	unknown []string // applied migrations this code does not know (a newer server ran)
}

func (s *Store) schemaState(ctx context.Context) (schemaState, error) {
	db := s.w.WithContext(ctx)
	var st schemaState
	var applied []string
	if db.Migrator().HasTable(migrationTable) {
		if err := db.Table(migrationTable).Order("id").Pluck("id", &applied).Error; err != nil {
			return st, fmt.Errorf("read schema version: %w", err)
		}
	}
	have := map[string]bool{}
	for _, id := range applied {
		have[id] = true
	}
	known := map[string]bool{}
	for _, m := range migrations {
		known[m.ID] = true
		if !have[m.ID] {
			st.missing = append(st.missing, m.ID)
		}
	}
	for _, id := range applied {
		if !known[id] && id != "SCHEMA_INIT" {
			st.unknown = append(st.unknown, id)
		}
	}
	return st, nil
}

func errNewer(st schemaState) error {
	return fmt.Errorf("the database schema is newer than this pony-server (it has migrations %s, unknown here): upgrade pony-server", strings.Join(st.unknown, ", "))
}

// SchemaUpToDate reports whether every migration of this code, and no
// other, has been applied.
func (s *Store) SchemaUpToDate(ctx context.Context) (bool, error) {
	st, err := s.schemaState(ctx)
	if err != nil {
		return false, err
	}
	return len(st.missing) == 0 && len(st.unknown) == 0, nil
}

// checkSchema refuses a database whose schema is not this code's.
func (s *Store) checkSchema(ctx context.Context) error {
	st, err := s.schemaState(ctx)
	if err != nil {
		return err
	}
	if len(st.unknown) > 0 {
		return errNewer(st)
	}
	if len(st.missing) > 0 {
		return fmt.Errorf("the %s database schema is not up to date (missing migrations %s): run `pony-server migrate`, or start the server with migrations on (the default of `pony-server serve`)", s.dialect, strings.Join(st.missing, ", "))
	}
	return nil
}
