package gormstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// maxParams is how many bind parameters one statement may have: SQLite's
// SQLITE_MAX_VARIABLE_NUMBER (32766 since 3.32) and PostgreSQL's wire
// protocol limit (65535), with a margin.
func (s *Store) maxParams() int {
	if s.dialect == dialectPostgres {
		return 65000
	}
	return sqliteParams
}

// sqliteParams is the bind parameters per SQLite statement. SQLite takes
// 32766, but the pure-Go driver binds each parameter with a scan of the
// parameter list, so a statement's cost grows with the square of its
// parameters: measured on a 50,000-test bag (BENCHMARKS.md), 32,000 a
// statement ingested 3,700 tests/s, 4,000 18,000 and 500 36,000. The cgo
// driver does not care; PostgreSQL takes 65,000 a statement.
var sqliteParams = 500

// batchSize is how many rows of n columns fit in one statement.
func (s *Store) batchSize(n int) int { return s.maxParams() / n }

// CreateResult stores the bag in one transaction: the results row (which
// claims the idempotency key), its tags, its steps, the test identities it
// names (bulk INSERT … ON CONFLICT DO NOTHING, then their ids selected in
// batches) and one verdicts row per test entry (multi-row INSERTs in
// batches). A concurrent send with the same idempotency key, here or on
// another replica, fails the unique index on results.idempotency_key: the
// transaction rolls back and the first result's receipt is returned with
// existed true.
//
// In the same transaction the result is folded into the test states (see
// states.go): on PostgreSQL an advisory transaction lock on (package,
// environment, branch) is taken first, so that replicas fold one
// environment's results one at a time; the environment's states are read,
// the bag's observations folded in with aggregator.Fold, the changes against
// the previous result computed with aggregator.DiffChanges and stored on the
// results row with the infrastructure-failure flag, the states bulk-upserted
// (on PostgreSQL in one statement, see upsertStatesPG) and the
// environment's row updated (always: see statesVersion).
func (s *Store) CreateResult(ctx context.Context, bag *pony.Bag, opts aggregator.CreateOptions) (pony.Receipt, bool, error) {
	nr, err := s.newResult(bag, opts)
	if err != nil {
		return pony.Receipt{}, false, err
	}
	var existing *pony.Receipt
	err = s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		existing, err = s.createResultTx(tx, nr)
		return err
	})
	return s.createdResult(ctx, nr, existing, err)
}

// newResult is a bag made ready to be stored by createResultTx.
type newResult struct {
	bag  *pony.Bag
	opts aggregator.CreateOptions
	rec  pony.Receipt
	row  *resultRow
	ri   aggregator.ResultInfo
	obs  []aggregator.Observation
}

// newResult prepares what createResultTx stores, outside the transaction.
func (s *Store) newResult(bag *pony.Bag, opts aggregator.CreateOptions) (*newResult, error) {
	if bag.Receipt == nil || bag.Receipt.ResultKey == "" {
		return nil, aggregator.Errorf(aggregator.EInvalid, "store result: the bag has no receipt")
	}
	nr := &newResult{bag: bag, opts: opts, rec: *bag.Receipt}
	nr.rec.Time = msUTC(nr.rec.Time)
	var err error
	if nr.row, err = newResultRow(bag, nr.rec, opts); err != nil {
		return nil, fmt.Errorf("store result: %w", err)
	}
	if !s.skipUpkeep {
		nr.ri, nr.obs = resultInfo(nr.row, bag, s.fold)
	}
	return nr, nil
}

// createResultTx stores a result in tx (CreateResult's and CompleteRun's
// transaction). When the idempotency key was already used it stores
// nothing and returns that result's receipt.
func (s *Store) createResultTx(tx *gorm.DB, nr *newResult) (*pony.Receipt, error) {
	row, opts := nr.row, nr.opts
	if opts.IdempotencyKey != "" {
		r, ok, err := receiptByIdempotencyKey(tx, opts.IdempotencyKey)
		if err != nil {
			return nil, err
		}
		if ok {
			return &r, nil
		}
	}
	var u upkeep
	if !s.skipUpkeep {
		var err error
		if u, err = s.planUpkeep(tx, nr.ri, nr.obs); err != nil {
			return nil, err
		}
		if row.Changes, err = changesJSON(u.changes); err != nil {
			return nil, err
		}
		row.Infra = u.ri.Infra
	}
	if err := tx.Create(row).Error; err != nil {
		return nil, err
	}
	ids, err := s.createChildren(tx, row, nr.bag, opts.Axes)
	if err != nil || s.skipUpkeep {
		return nil, err
	}
	return nil, s.writeUpkeep(tx, u, ids, row)
}

// createdResult turns the outcome of createResultTx's transaction into
// CreateResult's answer.
func (s *Store) createdResult(ctx context.Context, nr *newResult, existing *pony.Receipt, err error) (pony.Receipt, bool, error) {
	if existing != nil {
		return *existing, true, nil
	}
	if err != nil {
		if nr.opts.IdempotencyKey != "" && errors.Is(err, gorm.ErrDuplicatedKey) {
			// A concurrent send of the same key won the race.
			r, ok, err2 := receiptByIdempotencyKey(s.r.WithContext(ctx), nr.opts.IdempotencyKey)
			if err2 == nil && ok {
				return r, true, nil
			}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return pony.Receipt{}, false, fmt.Errorf("store result: %w", err)
	}
	return nr.rec, false, nil
}

// resultInfo describes a new result for aggregator.Fold, with its
// observations and whether it is an infrastructure failure.
func resultInfo(row *resultRow, bag *pony.Bag, opts aggregator.FoldOptions) (aggregator.ResultInfo, []aggregator.Observation) {
	obs := aggregator.Observations(bag)
	return aggregator.ResultInfo{Package: row.Package, EnvKey: row.EnvKey, Branch: row.Branch, Commit: row.Commit,
		ResultKey: row.ResultKey, Received: row.ReceivedAt, Infra: aggregator.IsInfraFailure(obs, opts)}, obs
}

func receiptByIdempotencyKey(db *gorm.DB, key string) (pony.Receipt, bool, error) {
	var rows []resultRow
	if err := db.Select("result_key, received_at, client_ip").Where("idempotency_key = ?", key).Limit(1).Find(&rows).Error; err != nil {
		return pony.Receipt{}, false, fmt.Errorf("look up idempotency key: %w", err)
	}
	if len(rows) == 0 {
		return pony.Receipt{}, false, nil
	}
	r := rows[0]
	return pony.Receipt{ResultKey: r.ResultKey, Time: r.ReceivedAt.UTC(), ClientIP: r.ClientIP}, true, nil
}

func newResultRow(bag *pony.Bag, rec pony.Receipt, opts aggregator.CreateOptions) (*resultRow, error) {
	ci := bag.ClientInfo
	// The bag's own marshaller, not json.Marshal, which would compact the
	// raw values of unknown keys: they are kept byte for byte.
	cij, err := ci.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("client_info: %w", err)
	}
	env := aggregator.NewEnv(ci, opts.Axes...)
	t := bag.Totals()
	row := &resultRow{
		ResultKey: rec.ResultKey, AuthKeyHash: opts.AuthKeyHash,
		Package: env.Package, Host: env.Host, Arch: env.Arch, Runtime: env.Runtime,
		EnvKey: envKey(env), Tags: tagsJSON(env.Tags),
		Commit: ci.Commit, Branch: ci.Branch, BuildURL: enc(ci.BuildURL),
		Success: bag.Success(), Duration: bag.Duration(),
		ReceivedAt: rec.Time, ClientIP: rec.ClientIP,
		NTests: t.Tests, NPass: t.Pass, NFail: t.Fail, NError: t.Error, NSkip: t.Skip,
		NXFail: t.XFail, NXPass: t.XPass, NFlaky: t.Flaky, NAttempts: t.Attempts,
		ClientInfo: string(cij),
	}
	if opts.IdempotencyKey != "" {
		k := opts.IdempotencyKey
		row.IdempotencyKey = &k
	}
	for i := range bag.Steps {
		row.Incomplete = row.Incomplete || bag.Steps[i].Incomplete
	}
	return row, nil
}

// createChildren inserts what hangs off a new results row, and returns the
// ids of the bag's tests.
func (s *Store) createChildren(tx *gorm.DB, row *resultRow, bag *pony.Bag, axes []string) (map[identity]int64, error) {
	env := aggregator.NewEnv(bag.ClientInfo, axes...)
	if len(env.Tags) > 0 {
		tags := make([]resultTagRow, len(env.Tags))
		for i, t := range env.Tags {
			tags[i] = resultTagRow{ResultID: row.ID, Tag: t}
		}
		if err := tx.CreateInBatches(tags, s.batchSize(2)).Error; err != nil {
			return nil, fmt.Errorf("insert tags: %w", err)
		}
	}
	if len(bag.Steps) == 0 {
		return map[identity]int64{}, nil
	}
	steps := make([]stepRow, len(bag.Steps))
	for i := range bag.Steps {
		st := &bag.Steps[i]
		extra, err := extraJSON(st.Extra)
		if err != nil {
			return nil, aggregator.Errorf(aggregator.EInvalid, "results_list[%d]: %v", i, err)
		}
		steps[i] = stepRow{ResultID: row.ID, Idx: i, Type: st.Type, Name: st.Name, Command: enc(st.Command),
			Status: st.Status, Output: enc(st.Output), Errout: enc(st.Errout), Duration: st.Duration,
			Format: st.Format, Incomplete: st.Incomplete, Extra: extra}
	}
	// Steps are few; their ids come back from the insert.
	if err := tx.CreateInBatches(steps, s.batchSize(12)).Error; err != nil {
		return nil, fmt.Errorf("insert steps: %w", err)
	}
	ids, err := s.testIDs(tx, env.Package, bag)
	if err != nil {
		return nil, err
	}
	n := 0
	for i := range bag.Steps {
		n += len(bag.Steps[i].Tests)
	}
	if n == 0 {
		return ids, nil
	}
	verdicts := make([]verdictRow, 0, n)
	for i := range bag.Steps {
		st := &bag.Steps[i]
		_, byKey := st.Verdicts()
		for j := range st.Tests {
			t := &st.Tests[j]
			v := verdictRow{ResultID: row.ID, StepID: steps[i].ID, TestID: ids[identity{enc(t.Suite), enc(t.Name)}],
				Idx: j, Attempt: t.Attempt, Status: string(t.Status), Duration: t.Duration,
				Message: enc(t.Message), Output: enc(t.Output), File: enc(t.File), Line: t.Line,
				Properties: propertiesJSON(t.Properties)}
			if vd := byKey[t.Key()]; vd.Final == j {
				v.Final, v.Attempts, v.RetryFlake = true, vd.Attempts, vd.RetryFlake
			}
			verdicts = append(verdicts, v)
		}
	}
	if err := tx.CreateInBatches(verdicts, s.batchSize(verdictColumns)).Error; err != nil {
		return nil, fmt.Errorf("insert verdicts: %w", err)
	}
	return ids, nil
}

// identity is a test's stored (suite, name) within a package.
type identity struct{ suite, name string }

// testIDs makes sure every test the bag names has an identity row and
// returns their ids: a bulk INSERT … ON CONFLICT DO NOTHING in batches,
// then SELECT … WHERE package = ? AND (suite, name) IN (VALUES …) in
// batches (SQLite takes a row-value IN only against a subquery, so VALUES,
// which PostgreSQL takes too).
func (s *Store) testIDs(tx *gorm.DB, pkg string, bag *pony.Bag) (map[identity]int64, error) {
	var keys []identity
	seen := map[identity]bool{}
	for i := range bag.Steps {
		for j := range bag.Steps[i].Tests {
			t := &bag.Steps[i].Tests[j]
			k := identity{enc(t.Suite), enc(t.Name)}
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	ids := make(map[identity]int64, len(keys))
	if len(keys) == 0 {
		return ids, nil
	}
	rows := make([]testIdentityRow, len(keys))
	for i, k := range keys {
		rows[i] = testIdentityRow{Package: pkg, Suite: k.suite, Name: k.name}
	}
	err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "package"}, {Name: "suite"}, {Name: "name"}}, DoNothing: true}).
		CreateInBatches(rows, s.batchSize(3)).Error
	if err != nil {
		return nil, fmt.Errorf("insert test identities: %w", err)
	}
	batch := (s.maxParams() - 1) / 2
	for lo := 0; lo < len(keys); lo += batch {
		part := keys[lo:min(lo+batch, len(keys))]
		var q strings.Builder
		q.WriteString("SELECT id, suite, name FROM tests WHERE package = ? AND (suite, name) IN (VALUES ")
		args := make([]any, 0, 1+2*len(part))
		args = append(args, pkg)
		for i, k := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?,?)")
			args = append(args, k.suite, k.name)
		}
		q.WriteByte(')')
		r, err := tx.Raw(q.String(), args...).Rows()
		if err != nil {
			return nil, fmt.Errorf("select test identities: %w", err)
		}
		for r.Next() {
			var id int64
			var k identity
			if err := r.Scan(&id, &k.suite, &k.name); err != nil {
				r.Close()
				return nil, fmt.Errorf("select test identities: %w", err)
			}
			ids[k] = id
		}
		err = r.Err()
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("select test identities: %w", err)
		}
	}
	if len(ids) != len(keys) {
		return nil, fmt.Errorf("select test identities: found %d of %d", len(ids), len(keys))
	}
	return ids, nil
}
