package gormstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// The incremental runs (DESIGN.md §5, aggregator/run.go): a runs row per
// run, its steps in run_steps until it completes. Every change of a run is a
// conditional UPDATE on its row (WHERE steps = ?, WHERE state <> 'complete'),
// checked by the rows it affected: on PostgreSQL a second replica's UPDATE
// waits for the first's row lock and then finds its condition false, so
// two replicas appending the same step store it once, and two finishing
// the same run store one result.

// runRow is one incremental run.
type runRow struct {
	ID              int64
	ResultKey       string
	IdempotencyKey  string
	UpdateTokenHash string
	Package         string
	Host            string
	Arch            string
	Runtime         string
	EnvKey          string
	Tags            string // JSON array, as results.tags
	ClientInfo      string // as results.client_info
	State           string
	Progress        *string // JSON of an aggregator.RunProgress
	Started         time.Time
	Updated         time.Time
	ClientIP        string `gorm:"column:client_ip"`
	Steps           int    // how many steps run_steps holds (0 once complete: they moved to the result)
}

func (runRow) TableName() string { return "runs" }

// runStepRow is step number Seq of a run, as the JSON of a pony.Step.
type runStepRow struct {
	RunID int64
	Seq   int
	Step  string
}

func (runStepRow) TableName() string { return "run_steps" }

func stepJSON(st *pony.Step) (string, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return "", aggregator.Errorf(aggregator.EInvalid, "step: %v", err)
	}
	return string(b), nil
}

// CreateRun stores a new run with the steps its bag holds, in one
// transaction. A run already opened with the idempotency key (here or, in a
// race, on another replica: the unique index decides) is returned instead,
// with existed true.
func (s *Store) CreateRun(ctx context.Context, r aggregator.RunRecord) (aggregator.RunRecord, bool, error) {
	if r.IdempotencyKey == "" || r.Key == "" || r.Bag == nil {
		return aggregator.RunRecord{}, false, aggregator.Errorf(aggregator.EInvalid, "store run: key, idempotency key and bag are required")
	}
	cij, err := r.Bag.ClientInfo.MarshalJSON()
	if err != nil {
		return aggregator.RunRecord{}, false, fmt.Errorf("store run: client_info: %w", err)
	}
	// The Service derived the run's environment, with its axes.
	env := r.Env
	if env.Package == "" {
		env = aggregator.NewEnv(r.Bag.ClientInfo)
	}
	row := runRow{
		ResultKey: r.Key, IdempotencyKey: r.IdempotencyKey, UpdateTokenHash: r.UpdateTokenHash,
		Package: env.Package, Host: env.Host, Arch: env.Arch, Runtime: env.Runtime, EnvKey: envKey(env), Tags: tagsJSON(env.Tags),
		ClientInfo: string(cij), State: string(aggregator.RunRunning),
		Started: msUTC(r.Started), Updated: msUTC(r.Updated), ClientIP: r.ClientIP, Steps: len(r.Bag.Steps),
	}
	if r.State != "" {
		row.State = string(r.State)
	}
	if row.Progress, err = progressJSON(r.Progress); err != nil {
		return aggregator.RunRecord{}, false, err
	}
	steps := make([]runStepRow, len(r.Bag.Steps))
	for i := range r.Bag.Steps {
		js, err := stepJSON(&r.Bag.Steps[i])
		if err != nil {
			return aggregator.RunRecord{}, false, err
		}
		steps[i] = runStepRow{Seq: i, Step: js}
	}
	existed := false
	err = s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&runRow{}).Where("idempotency_key = ?", r.IdempotencyKey).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			existed = true
			return nil
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		for i := range steps {
			steps[i].RunID = row.ID
		}
		if len(steps) > 0 {
			if err := tx.CreateInBatches(steps, s.batchSize(3)).Error; err != nil {
				return fmt.Errorf("insert run steps: %w", err)
			}
		}
		return nil
	})
	if err != nil && errors.Is(err, gorm.ErrDuplicatedKey) {
		existed, err = true, nil // a concurrent open with the same key won the race
	}
	if err != nil {
		return aggregator.RunRecord{}, false, storeErr("store run", err)
	}
	if existed {
		rec, err := s.runWhere(ctx, s.w.WithContext(ctx), "idempotency_key = ?", r.IdempotencyKey)
		return rec, true, err
	}
	rec, err := s.runWhere(ctx, s.w.WithContext(ctx), "result_key = ?", r.Key)
	return rec, false, err
}

// RunRecord returns a run by result key, steps included.
func (s *Store) RunRecord(ctx context.Context, key string) (aggregator.RunRecord, error) {
	return s.runWhere(ctx, s.r.WithContext(ctx), "result_key = ?", key)
}

// RunByIdempotencyKey returns the run opened with that key.
func (s *Store) RunByIdempotencyKey(ctx context.Context, idem string) (aggregator.RunRecord, error) {
	return s.runWhere(ctx, s.r.WithContext(ctx), "idempotency_key = ?", idem)
}

func (s *Store) runWhere(ctx context.Context, db *gorm.DB, where string, arg any) (aggregator.RunRecord, error) {
	var row runRow
	if err := db.Where(where, arg).Take(&row).Error; err != nil {
		return aggregator.RunRecord{}, storeErr("read run", err)
	}
	steps, err := runSteps(db, []int64{row.ID})
	if err != nil {
		return aggregator.RunRecord{}, err
	}
	run, err := row.run(steps[row.ID])
	if err != nil {
		return aggregator.RunRecord{}, err
	}
	return aggregator.RunRecord{Run: run, IdempotencyKey: row.IdempotencyKey, UpdateTokenHash: row.UpdateTokenHash}, nil
}

// runSteps reads the steps of the runs, by run id, in order.
func runSteps(db *gorm.DB, ids []int64) (map[int64][]pony.Step, error) {
	out := make(map[int64][]pony.Step, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []runStepRow
	if err := db.Where("run_id IN ?", ids).Order("run_id, seq").Find(&rows).Error; err != nil {
		return nil, storeErr("read run steps", err)
	}
	for _, r := range rows {
		var st pony.Step
		if err := json.Unmarshal([]byte(r.Step), &st); err != nil {
			return nil, fmt.Errorf("read run steps: stored step %d of run %d: %w", r.Seq, r.RunID, err)
		}
		out[r.RunID] = append(out[r.RunID], st)
	}
	return out, nil
}

func (r *runRow) run(steps []pony.Step) (aggregator.Run, error) {
	bag := &pony.Bag{Steps: steps}
	if bag.Steps == nil {
		bag.Steps = []pony.Step{}
	}
	if err := json.Unmarshal([]byte(r.ClientInfo), &bag.ClientInfo); err != nil {
		return aggregator.Run{}, fmt.Errorf("read run %s: stored client_info: %w", r.ResultKey, err)
	}
	run := aggregator.Run{
		Key: r.ResultKey, State: aggregator.RunState(r.State),
		Env: aggregator.Env{Package: r.Package, Host: r.Host, Arch: r.Arch, Runtime: r.Runtime, Tags: parseTags(r.Tags)},
		Bag: bag, Started: r.Started.UTC(), Updated: r.Updated.UTC(), ClientIP: r.ClientIP,
	}
	if r.Progress != nil {
		var p aggregator.RunProgress
		if err := json.Unmarshal([]byte(*r.Progress), &p); err != nil {
			return aggregator.Run{}, fmt.Errorf("read run %s: stored progress: %w", r.ResultKey, err)
		}
		run.Progress = &p
	}
	return run, nil
}

func progressJSON(p *aggregator.RunProgress) (*string, error) {
	if p == nil {
		return nil, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("progress: %w", err)
	}
	s := string(b)
	return &s, nil
}

// errRunComplete is the conflict of a change to a complete run.
func errRunComplete(key string) error {
	return aggregator.Errorf(aggregator.EConflict, "run %s is complete: it takes no more steps or progress", key)
}

// AppendRunStep stores step number seq of a run when seq is the number of
// steps stored: in one transaction, a conditional UPDATE … SET steps =
// steps + 1 WHERE steps = seq (which also sets updated and revives an
// abandoned run), then the run_steps row. When the UPDATE changes nothing
// (another request got there first) the run is read again and the step
// is a replay or a gap.
func (s *Store) AppendRunStep(ctx context.Context, key string, seq int, step pony.Step, now time.Time) (int, bool, error) {
	js, err := stepJSON(&step)
	if err != nil {
		return 0, false, err
	}
	var next int
	var stored bool
	err = s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for range 3 {
			var row runRow
			if err := tx.Select("id, state, steps").Where("result_key = ?", key).Take(&row).Error; err != nil {
				return storeErr("read run", err)
			}
			switch {
			case row.State == string(aggregator.RunComplete):
				return errRunComplete(key)
			case seq < row.Steps:
				next = row.Steps // a replay: nothing changes
				return nil
			case seq > row.Steps:
				return &aggregator.Error{Code: aggregator.EConflict,
					Message: fmt.Sprintf("run %s: step %d sent before step %d", key, seq, row.Steps),
					Detail:  map[string]int{"next": row.Steps}}
			}
			res := tx.Model(&runRow{}).Where("id = ? AND steps = ? AND state <> ?", row.ID, seq, aggregator.RunComplete).
				Updates(map[string]any{"steps": gorm.Expr("steps + 1"), "updated": msUTC(now), "state": string(aggregator.RunRunning)})
			if res.Error != nil {
				return fmt.Errorf("append run step: %w", res.Error)
			}
			if res.RowsAffected == 0 {
				continue // changed meanwhile: look again
			}
			if err := tx.Create(&runStepRow{RunID: row.ID, Seq: seq, Step: js}).Error; err != nil {
				return fmt.Errorf("insert run step: %w", err)
			}
			next, stored = seq+1, true
			return nil
		}
		return fmt.Errorf("append run step: run %s kept changing", key)
	})
	if err != nil {
		return 0, false, err
	}
	return next, stored, nil
}

// SetRunProgress records a run's progress and its client's last word,
// reviving an abandoned run.
func (s *Store) SetRunProgress(ctx context.Context, key string, p aggregator.RunProgress, now time.Time) error {
	pj, err := progressJSON(&p)
	if err != nil {
		return err
	}
	db := s.w.WithContext(ctx)
	res := db.Model(&runRow{}).Where("result_key = ? AND state <> ?", key, aggregator.RunComplete).
		Updates(map[string]any{"progress": *pj, "updated": msUTC(now), "state": string(aggregator.RunRunning)})
	if res.Error != nil {
		return fmt.Errorf("set run progress: %w", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	var n int64
	if err := db.Model(&runRow{}).Where("result_key = ?", key).Count(&n).Error; err != nil {
		return fmt.Errorf("set run progress: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("set run progress: %w", aggregator.ErrNotFound)
	}
	return errRunComplete(key)
}

// CompleteRun marks the run complete and stores bag as its result, in one
// transaction: a conditional UPDATE … WHERE state <> 'complete' (the
// second of two concurrent finishes waits for the first's row lock, then
// changes nothing and returns the first's receipt), the run's steps
// deleted (the result holds them now), then CreateResult's own
// transaction code (createResultTx).
func (s *Store) CompleteRun(ctx context.Context, key string, bag *pony.Bag, opts aggregator.CreateOptions) (pony.Receipt, bool, error) {
	nr, err := s.newResult(bag, opts)
	if err != nil {
		return pony.Receipt{}, false, err
	}
	if nr.rec.ResultKey != key {
		return pony.Receipt{}, false, aggregator.Errorf(aggregator.EInvalid, "complete run %s: the bag's receipt names %s", key, nr.rec.ResultKey)
	}
	already := false
	var existing *pony.Receipt
	err = s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&runRow{}).Where("result_key = ? AND state <> ?", key, aggregator.RunComplete).
			Updates(map[string]any{"state": string(aggregator.RunComplete), "updated": nr.rec.Time, "steps": 0})
		if res.Error != nil {
			return fmt.Errorf("complete run: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			var n int64
			if err := tx.Model(&runRow{}).Where("result_key = ?", key).Count(&n).Error; err != nil {
				return fmt.Errorf("complete run: %w", err)
			}
			if n == 0 {
				return fmt.Errorf("complete run: %w", aggregator.ErrNotFound)
			}
			already = true
			return nil
		}
		if err := tx.Where("run_id = (SELECT id FROM runs WHERE result_key = ?)", key).Delete(&runStepRow{}).Error; err != nil {
			return fmt.Errorf("complete run: delete its steps: %w", err)
		}
		var err error
		existing, err = s.createResultTx(tx, nr)
		return err
	})
	if err == nil && already {
		return s.completedReceipt(ctx, key, opts.IdempotencyKey)
	}
	if err != nil && aggregator.ErrorCode(err) == aggregator.ENotFound {
		return pony.Receipt{}, false, err
	}
	return s.createdResult(ctx, nr, existing, err)
}

// completedReceipt returns the receipt of a complete run's result: the
// result under the run's key, or, when another result had already taken
// the run's idempotency key, that one.
func (s *Store) completedReceipt(ctx context.Context, key, idem string) (pony.Receipt, bool, error) {
	db := s.w.WithContext(ctx)
	var rows []resultRow
	if err := db.Select("result_key, received_at, client_ip").Where("result_key = ?", key).Limit(1).Find(&rows).Error; err != nil {
		return pony.Receipt{}, false, fmt.Errorf("complete run: read receipt: %w", err)
	}
	if len(rows) == 1 {
		return pony.Receipt{ResultKey: rows[0].ResultKey, Time: rows[0].ReceivedAt.UTC(), ClientIP: rows[0].ClientIP}, true, nil
	}
	if idem != "" {
		r, ok, err := receiptByIdempotencyKey(db, idem)
		if err != nil {
			return pony.Receipt{}, false, err
		}
		if ok {
			return r, true, nil
		}
	}
	return pony.Receipt{}, false, fmt.Errorf("complete run %s: complete, but no result stored", key)
}

// AbandonRuns marks running runs idle since before idleSince abandoned, in
// one conditional UPDATE (several replicas reaping at once do no harm).
func (s *Store) AbandonRuns(ctx context.Context, idleSince time.Time) (int, error) {
	res := s.w.WithContext(ctx).Model(&runRow{}).Where("state = ? AND updated < ?", aggregator.RunRunning, msUTC(idleSince)).
		Update("state", string(aggregator.RunAbandoned))
	if res.Error != nil {
		return 0, fmt.Errorf("abandon runs: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}

// Runs lists a package's runs in the given states, running first, newest
// first, at most limit, with their steps (read in one query).
func (s *Store) Runs(ctx context.Context, pkg string, states []aggregator.RunState, limit int) ([]aggregator.Run, error) {
	if len(states) == 0 || limit <= 0 {
		return []aggregator.Run{}, nil
	}
	st := make([]string, len(states))
	for i, v := range states {
		st[i] = string(v)
	}
	db := s.r.WithContext(ctx)
	var rows []runRow
	err := db.Where("package = ? AND state IN ?", pkg, st).
		Order("CASE WHEN state = 'running' THEN 0 ELSE 1 END, started DESC, id DESC").
		Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, storeErr("list runs", err)
	}
	ids := make([]int64, len(rows))
	for i := range rows {
		ids[i] = rows[i].ID
	}
	steps, err := runSteps(db, ids)
	if err != nil {
		return nil, err
	}
	out := make([]aggregator.Run, len(rows))
	for i := range rows {
		if out[i], err = rows[i].run(steps[rows[i].ID]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
