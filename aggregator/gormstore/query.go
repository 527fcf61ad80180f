package gormstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// Result returns a stored bag as it was stored: client_info from its JSON,
// the steps in order with their unknown keys, each step's test entries in
// their original order, and the receipt. Three queries, whatever the size:
// the result, its steps, its verdicts joined with the test identities.
func (s *Store) Result(ctx context.Context, key string) (*pony.Bag, error) {
	db := s.r.WithContext(ctx)
	var row resultRow
	if err := db.Where("result_key = ?", key).Take(&row).Error; err != nil {
		return nil, storeErr("read result", err)
	}
	bag := &pony.Bag{Receipt: &pony.Receipt{ResultKey: row.ResultKey, Time: row.ReceivedAt.UTC(), ClientIP: row.ClientIP}}
	if err := json.Unmarshal([]byte(row.ClientInfo), &bag.ClientInfo); err != nil {
		return nil, fmt.Errorf("read result %s: stored client_info: %w", key, err)
	}
	var steps []stepRow
	if err := db.Where("result_id = ?", row.ID).Order("idx").Find(&steps).Error; err != nil {
		return nil, storeErr("read steps", err)
	}
	bag.Steps = make([]pony.Step, len(steps))
	stepIdx := make(map[int64]int, len(steps))
	for i, st := range steps {
		extra, err := parseExtra(st.Extra)
		if err != nil {
			return nil, fmt.Errorf("read result %s: %w", key, err)
		}
		bag.Steps[i] = pony.Step{Type: st.Type, Name: st.Name, Command: dec(st.Command), Status: st.Status,
			Output: dec(st.Output), Errout: dec(st.Errout), Duration: st.Duration, Format: st.Format,
			Incomplete: st.Incomplete, Extra: extra}
		stepIdx[st.ID] = i
	}
	rows, err := db.Raw(`SELECT v.step_id, t.suite, t.name, v.status, v.duration, v.attempt, v.message, v.output, v.file, v.line, v.properties
		FROM verdicts v JOIN tests t ON t.id = v.test_id
		WHERE v.result_id = ? ORDER BY v.step_id, v.idx`, row.ID).Rows()
	if err != nil {
		return nil, storeErr("read verdicts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			stepID                      int64
			t                           pony.TestResult
			status                      string
			suite, name, msg, out, file string
			props                       sql.NullString
		)
		if err := rows.Scan(&stepID, &suite, &name, &status, &t.Duration, &t.Attempt, &msg, &out, &file, &t.Line, &props); err != nil {
			return nil, storeErr("read verdicts", err)
		}
		t.Suite, t.Name, t.Status, t.Message, t.Output, t.File = dec(suite), dec(name), pony.Status(status), dec(msg), dec(out), dec(file)
		if props.Valid {
			if t.Properties, err = parseProperties(&props.String); err != nil {
				return nil, fmt.Errorf("read result %s: %w", key, err)
			}
		}
		i, ok := stepIdx[stepID]
		if !ok {
			return nil, fmt.Errorf("read result %s: verdict of unknown step %d", key, stepID)
		}
		bag.Steps[i].Tests = append(bag.Steps[i].Tests, t)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("read verdicts", err)
	}
	return bag, nil
}

// encodeCursor and decodeCursor make the opaque page cursors: base64 of
// dot-separated ids.
func encodeCursor(ids ...int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
}

func decodeCursor(c string, n int) ([]int64, error) {
	bad := aggregator.Errorf(aggregator.EInvalid, "bad page cursor %q: pass the next value of a previous page", c)
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, bad
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != n {
		return nil, bad
	}
	ids := make([]int64, n)
	for i, p := range parts {
		if ids[i], err = strconv.ParseInt(p, 10, 64); err != nil || ids[i] <= 0 {
			return nil, bad
		}
	}
	return ids, nil
}

func pageSize(n int) int {
	if n <= 0 {
		return aggregator.DefaultPageSize
	}
	return min(n, aggregator.MaxPageSize)
}

// Results lists a package's results, newest (highest id) first, filtered,
// a page at a time; the cursor is the last id shown.
func (s *Store) Results(ctx context.Context, f aggregator.ResultFilter) (aggregator.ResultPage, error) {
	limit := pageSize(f.Limit)
	q := s.r.WithContext(ctx).Model(&resultRow{}).Select(summaryColumns).Where("package = ?", f.Package)
	for col, v := range map[string]string{"host": f.Host, "arch": f.Arch, "runtime": f.Runtime, "branch": f.Branch} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	for _, t := range f.Tags {
		q = q.Where("EXISTS (SELECT 1 FROM result_tags rt WHERE rt.result_id = results.id AND rt.tag = ?)", t)
	}
	if f.Before != "" {
		c, err := decodeCursor(f.Before, 1)
		if err != nil {
			return aggregator.ResultPage{}, err
		}
		q = q.Where("id < ?", c[0])
	}
	var rows []resultRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return aggregator.ResultPage{}, storeErr("list results", err)
	}
	page := aggregator.ResultPage{Results: make([]aggregator.ResultSummary, 0, min(len(rows), limit))}
	for i := range rows[:min(len(rows), limit)] {
		page.Results = append(page.Results, rows[i].summary())
	}
	if len(rows) > limit {
		page.Next = encodeCursor(rows[limit-1].ID)
	}
	return page, nil
}

// latestPerEnv selects the newest result id of each environment.
const latestPerEnv = `SELECT MAX(id) FROM results GROUP BY package, env_key`

// Packages lists every package that has results, by name: its result
// count, the newest result of each environment, how many distinct tests
// were retry flakes in those newest results, and how many of its tests are
// flaky (see flakyCounts). Three grouped queries for all packages together
// (four on PostgreSQL), and a reading of the test states of the
// environments whose flaky tests are not kept at their current version.
func (s *Store) Packages(ctx context.Context, opts aggregator.FlakyOptions) ([]aggregator.PackageSummary, error) {
	db := s.r.WithContext(ctx)
	var counts []struct {
		Package string
		N       int
	}
	if err := db.Raw(`SELECT package, COUNT(*) AS n FROM results GROUP BY package ORDER BY package`).Scan(&counts).Error; err != nil {
		return nil, storeErr("count results", err)
	}
	// With their environment keys: on SQLite the id of an environment's
	// newest result is the version of its states (see flakyCounts), read
	// before them.
	var latest []resultRow
	if err := db.Model(&resultRow{}).Select(summaryColumns + ", results.env_key").Where("id IN (" + latestPerEnv + ")").Order("id DESC").Find(&latest).Error; err != nil {
		return nil, storeErr("latest results", err)
	}
	var retry []struct {
		Package string
		N       int
	}
	if err := db.Raw(`SELECT r.package, COUNT(DISTINCT v.test_id) AS n FROM verdicts v JOIN results r ON r.id = v.result_id
		WHERE v.retry_flake AND v.result_id IN (` + latestPerEnv + `) GROUP BY r.package`).Scan(&retry).Error; err != nil {
		return nil, storeErr("count retry flakes", err)
	}
	out := make([]aggregator.PackageSummary, len(counts))
	byName := make(map[string]*aggregator.PackageSummary, len(counts))
	for i, c := range counts {
		out[i] = aggregator.PackageSummary{Name: c.Package, Results: c.N, Environments: []aggregator.ResultSummary{}}
		byName[c.Package] = &out[i]
	}
	envs := make(map[string][]envVersion, len(counts))
	for i := range latest {
		p := byName[latest[i].Package]
		if p == nil { // stored between the two queries
			continue
		}
		sum := latest[i].summary()
		if len(p.Environments) == 0 {
			p.LastReceived = sum.Received // newest first
		}
		p.Environments = append(p.Environments, sum)
		envs[p.Name] = append(envs[p.Name], envVersion{key: latest[i].EnvKey, version: strconv.FormatInt(latest[i].ID, 10)})
	}
	for _, f := range retry {
		if p := byName[f.Package]; p != nil {
			p.RetryFlakes = f.N
		}
	}
	if err := s.flakyCounts(db, out, envs, opts); err != nil {
		return nil, err
	}
	return out, nil
}

// envVersion is an environment's key and the version of its test states.
type envVersion struct{ key, version string }

// flakyCounts sets the Flaky count of each package of pkgs: its tests
// whose state is flaky in some environment, counted as an
// aggregator.FlakyCounter counts them (the newest state of each test and
// environment over every branch, as TestStates gives Flaky). A test is
// flaky when it is in some environment, and each environment's states are
// its own (every branch of them), so the count is the size of the union of
// the flaky tests of the package's environments (envs), each judged apart
// and kept in the state cache with the version of the environment's states:
// after a result, only its environment's states are read again. The states
// of every environment missing from the cache are read by one query per
// keysPerQuery environments (test_states' primary key serves them), without
// the tests' names.
//
// The version of an environment's states, read before them (states read
// after are at least as new): on SQLite the highest id of its results, as
// Packages reads it (one writer, whose transactions take the ids in commit
// order, so that any new result of the environment, a late one too, raises
// it); on PostgreSQL the transaction id (xmin) of its envs row, which every
// result of the environment updates (see statesVersion), all environments
// in one query.
func (s *Store) flakyCounts(db *gorm.DB, pkgs []aggregator.PackageSummary, envs map[string][]envVersion, opts aggregator.FlakyOptions) error {
	if len(pkgs) == 0 {
		return nil
	}
	opts = opts.WithDefaults()
	if s.dialect == dialectPostgres {
		var rows []struct{ EnvKey, V string }
		if err := db.Raw(`SELECT env_key, xmin::text AS v FROM envs`).Scan(&rows).Error; err != nil {
			return storeErr("read the states' versions", err)
		}
		xmin := make(map[string]string, len(rows))
		for _, r := range rows {
			xmin[r.EnvKey] = r.V
		}
		for _, vs := range envs {
			for i := range vs {
				vs[i].version = xmin[vs[i].key]
			}
		}
	}
	flaky := map[string][]int64{}
	version := map[string]string{}
	var missing []string
	for _, vs := range envs {
		for _, e := range vs {
			if ids, ok := s.states.flakyTests(e.key, e.version, opts); ok {
				flaky[e.key] = ids
				continue
			}
			version[e.key] = e.version
			missing = append(missing, e.key)
		}
	}
	for start := 0; start < len(missing); start += keysPerQuery {
		batch := missing[start:min(len(missing), start+keysPerQuery)]
		counters, err := countFlaky(db, batch, opts)
		if err != nil {
			return storeErr("count flaky tests", err)
		}
		for _, env := range batch {
			var ids []int64
			if c := counters[env]; c != nil {
				ids = c.Tests()
			}
			flaky[env] = ids
			s.states.putFlakyTests(env, version[env], opts, ids)
		}
	}
	for i := range pkgs {
		p := &pkgs[i]
		vs := envs[p.Name]
		if len(vs) == 1 {
			p.Flaky = len(flaky[vs[0].key])
			continue
		}
		union := map[int64]bool{}
		for _, e := range vs {
			for _, id := range flaky[e.key] {
				union[id] = true
			}
		}
		p.Flaky = len(union)
	}
	return nil
}

// countFlaky reads every test state of the environments envs (by key)
// into a FlakyCounter per environment.
func countFlaky(db *gorm.DB, envs []string, opts aggregator.FlakyOptions) (map[string]*aggregator.FlakyCounter, error) {
	r, err := db.Raw(`SELECT s.state FROM test_states s WHERE s.env_key IN ?`, envs).Rows()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make(map[string]*aggregator.FlakyCounter, len(envs))
	in := interner{}
	var state []byte
	var st aggregator.TestState
	for r.Next() {
		if err := r.Scan(&state); err != nil {
			return nil, err
		}
		id, err := unpackState(state, &st, in)
		if err != nil {
			return nil, fmt.Errorf("a test state: %w", err)
		}
		c := out[st.EnvKey]
		if c == nil {
			c = aggregator.NewFlakyCounter(opts)
			out[st.EnvKey] = c
		}
		c.Add(id, &st)
	}
	return out, r.Err()
}

// Tagsets returns the newest result of each environment of a package,
// newest first, with the environment's result count.
func (s *Store) Tagsets(ctx context.Context, pkg string) ([]aggregator.Tagset, error) {
	db := s.r.WithContext(ctx)
	var groups []struct {
		ID int64
		N  int
	}
	if err := db.Raw(`SELECT MAX(id) AS id, COUNT(*) AS n FROM results WHERE package = ? GROUP BY env_key`, pkg).Scan(&groups).Error; err != nil {
		return nil, storeErr("group results", err)
	}
	out := []aggregator.Tagset{}
	if len(groups) == 0 {
		return out, nil
	}
	count := make(map[int64]int, len(groups))
	ids := make([]int64, len(groups))
	for i, g := range groups {
		count[g.ID], ids[i] = g.N, g.ID
	}
	var rows []resultRow
	if err := db.Model(&resultRow{}).Select(summaryColumns).Where("id IN ?", ids).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, storeErr("latest results", err)
	}
	for i := range rows {
		sum := rows[i].summary()
		out = append(out, aggregator.Tagset{Env: sum.Env, Latest: sum, Results: count[rows[i].ID]})
	}
	return out, nil
}

// TestHistory lists one test's verdicts (the final attempt of each step it
// ran in), newest result first, filtered by the result's host, arch and
// branch; the cursor is the last (result id, verdict id) shown.
func (s *Store) TestHistory(ctx context.Context, f aggregator.TestHistoryFilter) (aggregator.TestHistory, error) {
	h := aggregator.TestHistory{Package: f.Package, Suite: f.Suite, Name: f.Name, Verdicts: []aggregator.TestVerdict{}}
	limit := pageSize(f.Limit)
	var after []int64
	if f.Before != "" {
		var err error
		if after, err = decodeCursor(f.Before, 2); err != nil {
			return h, err
		}
	}
	db := s.r.WithContext(ctx)
	var ids []int64
	if err := db.Model(&testIdentityRow{}).Where("package = ? AND suite = ? AND name = ?", f.Package, enc(f.Suite), enc(f.Name)).Limit(1).Pluck("id", &ids).Error; err != nil {
		return h, storeErr("find test", err)
	}
	if len(ids) == 0 {
		return h, nil
	}
	q := db.Table("verdicts v").
		Select(`v.id AS verdict_id, v.status AS v_status, v.duration AS v_duration, v.message AS v_message, v.file AS v_file, v.line AS v_line,
			v.attempts AS v_attempts, v.retry_flake AS v_retry_flake, s.name AS step_name, `+summaryColumns).
		Joins("JOIN results ON results.id = v.result_id").
		Joins("JOIN steps s ON s.id = v.step_id").
		Where("v.test_id = ? AND v.final", ids[0])
	for col, v := range map[string]string{"host": f.Host, "arch": f.Arch, "branch": f.Branch} {
		if v != "" {
			q = q.Where("results."+col+" = ?", v)
		}
	}
	if after != nil {
		q = q.Where("(v.result_id < ? OR (v.result_id = ? AND v.id < ?))", after[0], after[0], after[1])
	}
	type historyRow struct {
		R           resultRow `gorm:"embedded"`
		VerdictID   int64     `gorm:"column:verdict_id"`
		VStatus     string    `gorm:"column:v_status"`
		VDuration   float64   `gorm:"column:v_duration"`
		VMessage    string    `gorm:"column:v_message"`
		VFile       string    `gorm:"column:v_file"`
		VLine       int       `gorm:"column:v_line"`
		VAttempts   int       `gorm:"column:v_attempts"`
		VRetryFlake bool      `gorm:"column:v_retry_flake"`
		StepName    string    `gorm:"column:step_name"`
	}
	var rows []historyRow
	if err := q.Order("v.result_id DESC, v.id DESC").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return h, storeErr("test history", err)
	}
	for i := range rows[:min(len(rows), limit)] {
		r := &rows[i]
		sum := r.R.summary()
		h.Verdicts = append(h.Verdicts, aggregator.TestVerdict{
			ResultKey: sum.Key, Received: sum.Received, Env: sum.Env, Commit: sum.Commit, Branch: sum.Branch,
			Step: r.StepName, Status: pony.Status(r.VStatus), Attempts: r.VAttempts, RetryFlake: r.VRetryFlake,
			Duration: r.VDuration, Message: dec(r.VMessage), File: dec(r.VFile), Line: r.VLine,
		})
	}
	if len(rows) > limit {
		last := &rows[limit-1]
		h.Next = encodeCursor(last.R.ID, last.VerdictID)
	}
	return h, nil
}
