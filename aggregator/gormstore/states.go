package gormstore

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// The upkeep of the test states: CreateResult folds every result into
// test_states (one row per test, environment and branch: its latest verdict
// and flakiness counters, see aggregator.TestState and aggregator.Fold) and
// envs (one row per environment: its latest result), and records the
// result's aggregator.Changes, all in the result's own transaction. The
// matrix and the flaky ranking read only these rows, never the history.
//
// In the stored states and envs, EnvKey is the store's key of the
// environment: the hex SHA-256 of aggregator.Env.Key() (see envKey), the same
// in TestState.EnvKey and EnvInfo.Key, so the two join.

// stateLockClass is the first key of the PostgreSQL advisory transaction
// lock that serialises the folds of one (package, environment, branch)
// over every replica; the second is hashtext of the three.
const stateLockClass = 0x706f6e79

// stateColumns are test_states' columns in the order stateArgs gives them.
var stateColumns = []string{"env_key", "branch", "test_id", "package", "state"}

// upsertStatesHead and upsertStatesTail are the INSERT head and the ON
// CONFLICT tail of the bulk upsert of states: every non-key column takes
// the new value.
var upsertStatesHead, upsertStatesTail = func() (string, string) {
	var set []string
	for _, c := range stateColumns[3:] {
		set = append(set, c+" = excluded."+c)
	}
	return "INSERT INTO test_states (" + strings.Join(stateColumns, ", ") + ") VALUES ",
		" ON CONFLICT (env_key, branch, test_id) DO UPDATE SET " + strings.Join(set, ", ")
}()

// stateArgs are a state's values in stateColumns order.
func stateArgs(st *aggregator.TestState, testID int64, args []any) []any {
	return append(args, st.EnvKey, st.Branch, testID, st.Package, packState(st, testID))
}

// packState encodes a state but its package, suite and name (the keys too,
// so that reading a state reads one column): version 1, the test id as a
// uvarint, then the strings length-prefixed (the scored commit empty when
// it is the commit, a flag saying so), the
// counters as uvarints, the times as Unix milliseconds (varints), the two
// bit fields as 8 bytes little-endian, and one byte of flags. A state with
// flip times is version 2: version 1's bytes, then their count (a uvarint)
// and each as the difference in milliseconds from the one before (a varint;
// the first from the received time).
func packState(st *aggregator.TestState, testID int64) []byte {
	b := make([]byte, 0, 80+len(st.EnvKey)+len(st.Branch)+len(st.ResultKey)+len(st.Commit)+len(st.ScoredCommit)+4*len(st.FlipTimes))
	b = append(b, byte(min(len(st.FlipTimes), 1)+1))
	b = binary.AppendUvarint(b, uint64(testID))
	scored, same := st.ScoredCommit, st.ScoredCommit == st.Commit
	if same { // the usual case: stored once
		scored = ""
	}
	for _, str := range []string{st.EnvKey, st.Branch, string(st.Status), st.ResultKey, st.Commit, scored} {
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	var flags byte
	for i, f := range []bool{st.Infra, st.CommitPass, st.CommitFail, !st.FirstFlake.IsZero(), !st.LastFlake.IsZero(), same} {
		if f {
			flags |= 1 << i
		}
	}
	b = append(b, flags)
	for _, t := range []time.Time{st.Received, st.FirstFlake, st.LastFlake} {
		var ms int64
		if !t.IsZero() {
			ms = t.UnixMilli()
		}
		b = binary.AppendVarint(b, ms)
	}
	for _, n := range []int{st.Attempts, st.Verdicts, st.HistoryLen, st.Disagreements, st.FlakeCount, st.CleanRun, st.InfraExcluded} {
		b = binary.AppendUvarint(b, uint64(max(n, 0)))
	}
	b = binary.LittleEndian.AppendUint64(b, st.History)
	b = binary.LittleEndian.AppendUint64(b, st.RetryFlakes)
	if len(st.FlipTimes) > 0 {
		b = binary.AppendUvarint(b, uint64(len(st.FlipTimes)))
		prev := st.Received.UnixMilli()
		if st.Received.IsZero() {
			prev = 0
		}
		for _, t := range st.FlipTimes {
			b = binary.AppendVarint(b, t.UnixMilli()-prev)
			prev = t.UnixMilli()
		}
	}
	return b
}

// maxFlipTimes caps the flip times of a stored state: History's 64
// verdicts hold at most 63 flips.
const maxFlipTimes = 63

var errBadState = errors.New("bad stored test state")

// interner shares the strings of the states read together (environment
// keys, branches, statuses, commits and result keys repeat): fewer
// allocations when a package's states are read.
type interner map[string]string

func (in interner) str(b []byte) string {
	if s, ok := in[string(b)]; ok { // no allocation for the lookup
		return s
	}
	s := string(b)
	in[s] = s
	return s
}

// unpackState decodes packState's encoding into st and returns the test id.
func unpackState(b []byte, st *aggregator.TestState, in interner) (int64, error) {
	if len(b) == 0 || (b[0] != 1 && b[0] != 2) {
		return 0, errBadState
	}
	version := b[0]
	id, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return 0, errBadState
	}
	b = b[1+k:]
	var strs [6]string
	for i := range strs {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return 0, errBadState
		}
		strs[i] = in.str(b[k : k+int(n)])
		b = b[k+int(n):]
	}
	st.EnvKey, st.Branch = strs[0], strs[1]
	st.Status, st.ResultKey, st.Commit, st.ScoredCommit = pony.Status(strs[2]), strs[3], strs[4], strs[5]
	if len(b) == 0 {
		return 0, errBadState
	}
	flags := b[0]
	b = b[1:]
	st.Infra, st.CommitPass, st.CommitFail = flags&1 != 0, flags&2 != 0, flags&4 != 0
	if flags&32 != 0 {
		st.ScoredCommit = st.Commit
	}
	var times [3]time.Time
	for i := range times {
		ms, k := binary.Varint(b)
		if k <= 0 {
			return 0, errBadState
		}
		b = b[k:]
		if i == 0 || flags&(1<<(2+i)) != 0 {
			times[i] = time.UnixMilli(ms).UTC()
		}
	}
	st.Received, st.FirstFlake, st.LastFlake = times[0], times[1], times[2]
	for _, p := range []*int{&st.Attempts, &st.Verdicts, &st.HistoryLen, &st.Disagreements, &st.FlakeCount, &st.CleanRun, &st.InfraExcluded} {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > math.MaxInt32 {
			return 0, errBadState
		}
		*p, b = int(n), b[k:]
	}
	if len(b) < 16 || (version == 1 && len(b) != 16) {
		return 0, errBadState
	}
	st.History, st.RetryFlakes = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:])
	st.FlipTimes = nil
	if version == 1 {
		return int64(id), nil
	}
	b = b[16:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n == 0 || n > maxFlipTimes {
		return 0, errBadState
	}
	b = b[k:]
	st.FlipTimes = make([]time.Time, n)
	prev := times[0].UnixMilli()
	for i := range st.FlipTimes {
		d, k := binary.Varint(b)
		if k <= 0 {
			return 0, errBadState
		}
		b = b[k:]
		prev += d
		st.FlipTimes[i] = time.UnixMilli(prev).UTC()
	}
	if len(b) != 0 {
		return 0, errBadState
	}
	return int64(id), nil
}

// keyedState is a stored state with its test's id.
type keyedState struct {
	id int64
	st aggregator.TestState
}

// queryStates reads the states of one package that match where (on
// test_states s), with their tests' names when names (a join with tests).
func queryStates(db *gorm.DB, pkg string, names bool, where string, args ...any) ([]keyedState, error) {
	q := `SELECT s.state FROM test_states s `
	if names {
		q = `SELECT s.state, t.suite, t.name FROM test_states s JOIN tests t ON t.id = s.test_id `
	}
	r, err := db.Raw(q+where, args...).Rows()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := make([]keyedState, 0, 1024)
	in := interner{}
	var state []byte
	var suite, name string
	for r.Next() {
		if names {
			err = r.Scan(&state, &suite, &name)
		} else {
			err = r.Scan(&state)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, keyedState{})
		k := &out[len(out)-1]
		if k.id, err = unpackState(state, &k.st, in); err != nil {
			return nil, fmt.Errorf("a test state of %s: %w", pkg, err)
		}
		k.st.Package = pkg
		if names {
			k.st.Suite, k.st.Name = dec(suite), dec(name)
		}
	}
	return out, r.Err()
}

// upkeep is one result folded into its environment's states, ready to
// write once the result's test ids are known.
type upkeep struct {
	ri      aggregator.ResultInfo
	obs     []aggregator.Observation
	states  []aggregator.TestState // aligned with obs
	changes aggregator.Changes
}

// foldResult folds obs (a result described by ri) into cur, the current
// states of its environment and branch by test, and diffs it with the
// previous result prevKey, whose states prev are (taken before folding).
// cur is updated in place.
func foldResult(cur map[pony.TestKey]*keyedState, ri aggregator.ResultInfo, obs []aggregator.Observation, opts aggregator.FoldOptions, prevKey string, prev []aggregator.TestState) upkeep {
	u := upkeep{ri: ri, obs: obs, states: make([]aggregator.TestState, len(obs))}
	u.changes = aggregator.DiffChanges(prevKey, prev, obs, ri.Infra)
	for i, o := range obs {
		k := pony.TestKey{Suite: o.Suite, Name: o.Name}
		var p *aggregator.TestState
		if c := cur[k]; c != nil {
			p = &c.st
		}
		u.states[i] = aggregator.Fold(p, ri, o, opts)
		if c := cur[k]; c != nil {
			c.st = u.states[i]
		} else {
			cur[k] = &keyedState{st: u.states[i]}
		}
	}
	return u
}

// prevStates are the states of cur whose latest verdict is prevKey's.
func prevStates(cur map[pony.TestKey]*keyedState, prevKey string) []aggregator.TestState {
	var prev []aggregator.TestState
	if prevKey == "" {
		return prev
	}
	for _, c := range cur {
		if c.st.ResultKey == prevKey {
			prev = append(prev, c.st)
		}
	}
	return prev
}

// planUpkeep takes the environment's fold lock (PostgreSQL), loads the
// states of the result's environment and branch (one range scan of
// test_states' primary key: they include the previous result's tests), finds
// the previous result, and folds the bag in.
//
// The previous result is the newest of the environment and branch by
// receipt (then result key). When a result arrives late (an older receipt
// than the newest stored, e.g. two replicas committing out of order), it is
// compared with the result received just before it, read from its verdicts,
// and aggregator.Fold only counts it (see Fold).
func (s *Store) planUpkeep(tx *gorm.DB, ri aggregator.ResultInfo, obs []aggregator.Observation) (upkeep, error) {
	ri.Received = msUTC(ri.Received)
	if s.dialect == dialectPostgres {
		lock := fmt.Sprintf("SELECT pg_advisory_xact_lock(%d, hashtext(?))", stateLockClass)
		if err := tx.Exec(lock, ri.Package+"\n"+ri.EnvKey+"\n"+ri.Branch).Error; err != nil {
			return upkeep{}, fmt.Errorf("lock environment states: %w", err)
		}
	}
	rows, err := queryStates(tx, ri.Package, true, "WHERE s.env_key = ? AND s.branch = ?", ri.EnvKey, ri.Branch)
	if err != nil {
		return upkeep{}, fmt.Errorf("load states: %w", err)
	}
	cur := make(map[pony.TestKey]*keyedState, max(len(rows), len(obs)))
	for i := range rows {
		cur[pony.TestKey{Suite: rows[i].st.Suite, Name: rows[i].st.Name}] = &rows[i]
	}
	type prevRow struct {
		ID         int64
		ResultKey  string
		ReceivedAt time.Time
		Infra      bool
	}
	const prevQuery = `SELECT id, result_key, received_at, infra FROM results WHERE package = ? AND env_key = ? AND branch = ? `
	const prevOrder = ` ORDER BY received_at DESC, result_key DESC LIMIT 1`
	var newest []prevRow
	if err := tx.Raw(prevQuery+prevOrder, ri.Package, ri.EnvKey, ri.Branch).Scan(&newest).Error; err != nil {
		return upkeep{}, fmt.Errorf("find previous result: %w", err)
	}
	var prevKey string
	var prev []aggregator.TestState
	switch {
	case len(newest) == 0:
	case newest[0].ReceivedAt.Before(ri.Received) || (newest[0].ReceivedAt.Equal(ri.Received) && newest[0].ResultKey < ri.ResultKey):
		prevKey = newest[0].ResultKey
		prev = prevStates(cur, prevKey)
	default: // a late result
		var before []prevRow
		err := tx.Raw(prevQuery+`AND (received_at < ? OR (received_at = ? AND result_key < ?))`+prevOrder,
			ri.Package, ri.EnvKey, ri.Branch, ri.Received, ri.Received, ri.ResultKey).Scan(&before).Error
		if err != nil {
			return upkeep{}, fmt.Errorf("find previous result: %w", err)
		}
		if len(before) > 0 {
			prevKey = before[0].ResultKey
			pobs, _, err := obsFromVerdicts(tx, before[0].ID)
			if err != nil {
				return upkeep{}, err
			}
			prev = statesOf(prevKey, before[0].Infra, pobs)
		}
	}
	return foldResult(cur, ri, obs, s.fold, prevKey, prev), nil
}

// statesOf makes of a stored result's observations the states DiffChanges
// compares with: the verdict, and whether it was a scored retry flake.
func statesOf(key string, infra bool, obs []aggregator.Observation) []aggregator.TestState {
	out := make([]aggregator.TestState, len(obs))
	for i, o := range obs {
		out[i] = aggregator.TestState{Suite: o.Suite, Name: o.Name, Status: o.Status, ResultKey: key, Infra: infra, Attempts: o.Attempts}
		if aggregator.Scored(o.Status) {
			out[i].HistoryLen = 1
			if o.Status.Failed() {
				out[i].History = 1
			}
			if o.RetryFlake {
				out[i].RetryFlakes = 1
			}
		}
	}
	return out
}

// obsFromVerdicts rebuilds a stored result's observations from its final
// verdicts, as aggregator.Observations does from the bag (the last step
// holding a test gives its status; attempts summed; a retry flake in any
// step), with the tests' ids.
func obsFromVerdicts(tx *gorm.DB, resultID int64) ([]aggregator.Observation, map[pony.TestKey]int64, error) {
	r, err := tx.Raw(`SELECT v.test_id, t.suite, t.name, v.status, v.attempts, v.retry_flake
		FROM verdicts v JOIN tests t ON t.id = v.test_id JOIN steps s ON s.id = v.step_id
		WHERE v.result_id = ? AND v.final ORDER BY s.idx, v.idx`, resultID).Rows()
	if err != nil {
		return nil, nil, fmt.Errorf("read verdicts of result %d: %w", resultID, err)
	}
	defer r.Close()
	var obs []aggregator.Observation
	ids := map[pony.TestKey]int64{}
	at := map[pony.TestKey]int{}
	for r.Next() {
		var (
			id                  int64
			suite, name, status string
			attempts            int
			flake               bool
		)
		if err := r.Scan(&id, &suite, &name, &status, &attempts, &flake); err != nil {
			return nil, nil, fmt.Errorf("read verdicts of result %d: %w", resultID, err)
		}
		k := pony.TestKey{Suite: dec(suite), Name: dec(name)}
		if i, ok := at[k]; ok {
			o := &obs[i]
			o.Status, o.Attempts, o.RetryFlake = pony.Status(status), o.Attempts+attempts, o.RetryFlake || flake
			continue
		}
		at[k], ids[k] = len(obs), id
		obs = append(obs, aggregator.Observation{Suite: k.Suite, Name: k.Name, Status: pony.Status(status), Attempts: attempts, RetryFlake: flake})
	}
	if err := r.Err(); err != nil {
		return nil, nil, fmt.Errorf("read verdicts of result %d: %w", resultID, err)
	}
	return obs, ids, nil
}

// writeStates bulk-upserts states (each with its test id) in batches that
// keep under the dialect's bind parameters.
func writeStates(tx *gorm.DB, maxParams int, states []keyedState) error {
	batch := max(1, maxParams/len(stateColumns))
	var q strings.Builder
	args := make([]any, 0, min(len(states), batch)*len(stateColumns))
	row := "(" + strings.Repeat("?,", len(stateColumns)-1) + "?)"
	for lo := 0; lo < len(states); lo += batch {
		part := states[lo:min(lo+batch, len(states))]
		q.Reset()
		args = args[:0]
		q.WriteString(upsertStatesHead)
		for i := range part {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(row)
			args = stateArgs(&part[i].st, part[i].id, args)
		}
		q.WriteString(upsertStatesTail)
		if err := tx.Exec(q.String(), args...).Error; err != nil {
			return fmt.Errorf("upsert test states: %w", err)
		}
	}
	return nil
}

// upsertStatesPG writes one environment and branch's states on PostgreSQL
// in one statement of five parameters, the test ids and the packed states
// being two arrays: an UPDATE … FROM of the existing rows (a primary key
// lookup and an in-place, HOT update each), then an INSERT of the others.
// Measured at 240 results of 1,000 tests (BENCHMARKS.md), the writing of the
// states took 2.7 s as INSERT … ON CONFLICT DO UPDATE of the arrays and
// 2.1 s so (in the same conditions; noisy).
// The ON CONFLICT only guards: the environment's lock keeps other writers
// of these rows out.
const upsertStatesPG = `WITH t AS (SELECT * FROM unnest($4::bigint[], $5::bytea[]) AS t(id, state)),
	u AS (UPDATE test_states s SET state = t.state FROM t
		WHERE s.env_key = $1 AND s.branch = $2 AND s.test_id = t.id RETURNING s.test_id)
	INSERT INTO test_states (env_key, branch, test_id, package, state)
	SELECT $1, $2, t.id, $3, t.state FROM t WHERE t.id NOT IN (SELECT test_id FROM u)
	ON CONFLICT (env_key, branch, test_id) DO UPDATE SET state = excluded.state`

// writeStatesPG upserts the states of one result (of row's environment
// and branch) on PostgreSQL, in test id order.
func writeStatesPG(tx *gorm.DB, row *resultRow, states []keyedState) error {
	if len(states) == 0 {
		return nil
	}
	sort.Slice(states, func(i, j int) bool { return states[i].id < states[j].id })
	ids := make([]int64, len(states))
	packed := make([][]byte, len(states))
	for i := range states {
		ids[i], packed[i] = states[i].id, packState(&states[i].st, states[i].id)
	}
	// Past GORM, which would expand the slices into lists: the pgx driver
	// sends them as arrays.
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, upsertStatesPG, row.EnvKey, row.Branch, row.Package, ids, packed)
	if err != nil {
		return fmt.Errorf("upsert test states: %w", err)
	}
	return nil
}

// upsertEnvSQL records an environment's latest result; an older result
// (by receipt, then key) does not replace a newer one, but still updates
// the row (to its own values): on PostgreSQL that gives the row a new
// version, which statesVersion sees.
var upsertEnvSQL = func() string {
	const newer = `(envs.last_received < excluded.last_received
		OR (envs.last_received = excluded.last_received AND envs.last_result_key < excluded.last_result_key))`
	var set []string
	for _, c := range []string{"package", "host", "arch", "runtime", "tags", "last_result_id", "last_result_key", "last_received", "client_info"} {
		set = append(set, c+" = CASE WHEN "+newer+" THEN excluded."+c+" ELSE envs."+c+" END")
	}
	return `INSERT INTO envs (env_key, package, host, arch, runtime, tags, last_result_id, last_result_key, last_received, client_info)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (env_key) DO UPDATE SET ` + strings.Join(set, ", ")
}()

func upsertEnv(tx *gorm.DB, row *resultRow) error {
	err := tx.Exec(upsertEnvSQL, row.EnvKey, row.Package, row.Host, row.Arch, row.Runtime, row.Tags,
		row.ID, row.ResultKey, row.ReceivedAt, row.ClientInfo).Error
	if err != nil {
		return fmt.Errorf("upsert environment: %w", err)
	}
	return nil
}

// writeUpkeep writes a planned upkeep once the result row and its test
// identities exist.
func (s *Store) writeUpkeep(tx *gorm.DB, u upkeep, ids map[identity]int64, row *resultRow) error {
	ks := make([]keyedState, len(u.states))
	for i := range u.states {
		id, ok := ids[identity{enc(u.obs[i].Suite), enc(u.obs[i].Name)}]
		if !ok {
			return fmt.Errorf("upsert test states: no id for test %q %q", u.obs[i].Suite, u.obs[i].Name)
		}
		ks[i] = keyedState{id: id, st: u.states[i]}
	}
	var err error
	if s.dialect == dialectPostgres {
		err = writeStatesPG(tx, row, ks)
	} else {
		err = writeStates(tx, s.maxParams(), ks)
	}
	if err != nil {
		return err
	}
	return upsertEnv(tx, row)
}

func changesJSON(c aggregator.Changes) (*string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("changes: %w", err)
	}
	str := string(b)
	return &str, nil
}

// backfillStates folds the results stored before migration 0003 into the
// new tables, oldest receipt first, as CreateResult would have: each
// result's observations rebuilt from its final verdicts, its changes and
// infrastructure flag recorded, then every state written in bulk and each
// environment's newest result recorded. Two queries a result plus the bulk
// writes; the default fold options apply.
func backfillStates(tx *gorm.DB) error {
	type res struct {
		ID         int64
		ResultKey  string
		Package    string
		EnvKey     string
		Branch     string
		Commit     string `gorm:"column:commit"`
		ReceivedAt time.Time
	}
	var all []res
	if err := tx.Raw(`SELECT id, result_key, package, env_key, branch, "commit", received_at FROM results ORDER BY received_at, result_key`).Scan(&all).Error; err != nil {
		return fmt.Errorf("backfill states: %w", err)
	}
	if len(all) == 0 {
		return nil
	}
	opts := aggregator.FoldOptions{}.WithDefaults()
	type envBranch struct{ env, branch string }
	curs := map[envBranch]map[pony.TestKey]*keyedState{}
	last := map[envBranch]string{}
	for _, r := range all {
		obs, ids, err := obsFromVerdicts(tx, r.ID)
		if err != nil {
			return fmt.Errorf("backfill states: %w", err)
		}
		eb := envBranch{r.EnvKey, r.Branch}
		cur := curs[eb]
		if cur == nil {
			cur = map[pony.TestKey]*keyedState{}
			curs[eb] = cur
		}
		ri := aggregator.ResultInfo{Package: r.Package, EnvKey: r.EnvKey, Branch: r.Branch, Commit: r.Commit,
			ResultKey: r.ResultKey, Received: msUTC(r.ReceivedAt), Infra: aggregator.IsInfraFailure(obs, opts)}
		u := foldResult(cur, ri, obs, opts, last[eb], prevStates(cur, last[eb]))
		last[eb] = r.ResultKey
		for k, id := range ids {
			cur[k].id = id
		}
		cj, err := changesJSON(u.changes)
		if err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE results SET changes = ?, infra = ? WHERE id = ?`, *cj, ri.Infra, r.ID).Error; err != nil {
			return fmt.Errorf("backfill states: %w", err)
		}
	}
	var ks []keyedState
	for _, cur := range curs {
		for _, k := range cur {
			ks = append(ks, *k)
		}
	}
	maxParams := sqliteParams
	if tx.Dialector.Name() == dialectPostgres {
		maxParams = 65000
	}
	if err := writeStates(tx, maxParams, ks); err != nil {
		return fmt.Errorf("backfill states: %w", err)
	}
	err := tx.Exec(`INSERT INTO envs (env_key, package, host, arch, runtime, tags, last_result_id, last_result_key, last_received, client_info)
		SELECT env_key, package, host, arch, runtime, tags, id, result_key, received_at, client_info FROM results r
		WHERE NOT EXISTS (SELECT 1 FROM results r2 WHERE r2.env_key = r.env_key
			AND (r2.received_at > r.received_at OR (r2.received_at = r.received_at AND r2.result_key > r.result_key)))`).Error
	if err != nil {
		return fmt.Errorf("backfill environments: %w", err)
	}
	return nil
}

// TestStates returns the states of a package's tests (of f.Branch, or the
// newest of each test and environment over every branch), sorted by suite,
// name and environment key, and every environment of the package (whatever
// the branch). The version of the package's states (statesVersion, one
// small query) and the environments are read every time; the states (by
// environment, a range scan of the primary key each) and the package's test
// names only when the Store's cache holds no reading of the package and
// branch at that version. The caller owns the returned slices.
func (s *Store) TestStates(ctx context.Context, f aggregator.StateFilter) ([]aggregator.TestState, []aggregator.EnvInfo, error) {
	db := s.r.WithContext(ctx)
	var rows []keyedState
	var err error
	// The version first: states read after it are at least as new, so a
	// reading kept under it is never older than it says.
	var version string
	if s.states != nil {
		if version, err = s.statesVersion(db, f.Package); err != nil {
			return nil, nil, storeErr("read test states", err)
		}
	}
	envs, err := s.envs(db, f.Package)
	if err != nil {
		return nil, nil, err
	}
	if len(envs) == 0 {
		return []aggregator.TestState{}, envs, nil
	}
	ck := stateCacheKey{f.Package, f.Branch}
	if st, ok := s.states.get(ck, version); ok {
		return st, envs, nil
	}
	// The package changed since the reading kept, if one is: read again
	// the states of the environments whose version changed (after a
	// result, its environment's), keep the others'. Versions first, as
	// above.
	var envVers map[string]string
	prevVers, prev, havePrev := s.states.last(ck)
	if s.states != nil {
		if envVers, err = s.envVersions(db, f.Package); err != nil {
			return nil, nil, storeErr("read test states", err)
		}
	}
	keepEnv := make(map[string]bool, len(envs))
	var changed []string
	for _, e := range envs {
		if v, ok := envVers[e.Key]; havePrev && ok && prevVers[e.Key] == v {
			keepEnv[e.Key] = true
		} else {
			changed = append(changed, e.Key)
		}
	}
	// By environment: range scans of the primary key.
	for start := 0; start < len(changed); start += keysPerQuery {
		batch := changed[start:min(len(changed), start+keysPerQuery)]
		where := make([]byte, 0, 32+2*len(batch))
		where = append(where, "WHERE s.env_key IN ("...)
		args := make([]any, 0, len(batch)+1)
		for i, k := range batch {
			if i > 0 {
				where = append(where, ',')
			}
			where = append(where, '?')
			args = append(args, k)
		}
		where = append(where, ')')
		if f.Branch != "" {
			where = append(where, " AND s.branch = ?"...)
			args = append(args, f.Branch)
		}
		more, err := queryStates(db, f.Package, false, string(where), args...)
		if err != nil {
			return nil, nil, storeErr("read test states", err)
		}
		rows = append(rows, more...)
	}
	s.statesRead.Add(int64(len(rows)))
	if err := s.nameStates(db, f.Package, rows); err != nil {
		return nil, nil, err
	}
	// keep indexes the rows returned: on one branch all of them; over every
	// branch the newest of each test and environment. They are sorted as
	// indexes, the states being large, and copied out once.
	keep := make([]int32, 0, len(rows))
	if f.Branch != "" {
		for i := range rows {
			keep = append(keep, int32(i))
		}
	} else {
		type testEnv struct {
			id  int64
			env string
		}
		at := make(map[testEnv]int, len(rows))
		for i := range rows {
			k := testEnv{rows[i].id, rows[i].st.EnvKey}
			j, ok := at[k]
			if !ok {
				at[k] = len(keep)
				keep = append(keep, int32(i))
				continue
			}
			if rows[i].st.Newer(&rows[keep[j]].st) {
				keep[j] = int32(i)
			}
		}
	}
	sort.Slice(keep, func(i, j int) bool { return stateLess(&rows[keep[i]].st, &rows[keep[j]].st) })
	// Merged with the kept environments' states of the reading kept, both
	// in the same order.
	n := len(keep)
	if havePrev {
		for i := range prev {
			if keepEnv[prev[i].EnvKey] {
				n++
			}
		}
	}
	sorted := make([]aggregator.TestState, 0, n)
	i := 0
	for _, k := range keep {
		st := &rows[k].st
		for ; havePrev && i < len(prev); i++ {
			if !keepEnv[prev[i].EnvKey] {
				continue
			}
			if !stateLess(&prev[i], st) {
				break
			}
			sorted = append(sorted, prev[i])
		}
		sorted = append(sorted, *st)
	}
	for ; havePrev && i < len(prev); i++ {
		if keepEnv[prev[i].EnvKey] {
			sorted = append(sorted, prev[i])
		}
	}
	s.states.put(ck, version, envVers, sorted)
	return sorted, envs, nil
}

// stateLess orders states as TestStates returns them: by suite, name,
// environment and branch.
func stateLess(a, b *aggregator.TestState) bool {
	if a.Suite != b.Suite {
		return a.Suite < b.Suite
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.EnvKey != b.EnvKey {
		return a.EnvKey < b.EnvKey
	}
	return a.Branch < b.Branch
}

// nameStates sets the suite and name of states read without them, from
// the names the state cache keeps and, for the tests it does not know,
// from the tests table: by id when they are few (after a result), else
// the package's tests at once, rather than a join that would read them
// once per environment.
func (s *Store) nameStates(db *gorm.DB, pkg string, rows []keyedState) error {
	if len(rows) == 0 {
		return nil
	}
	names := map[int64]pony.TestKey{}
	ids := make([]int64, 0, len(rows))
	seen := make(map[int64]bool, len(rows))
	for i := range rows {
		if id := rows[i].id; !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	unknown := s.states.testNames(pkg, ids, names)
	read := func(q string, args ...any) error {
		r, err := db.Raw(q, args...).Rows()
		if err != nil {
			return storeErr("read tests", err)
		}
		defer r.Close()
		for r.Next() {
			var id int64
			var suite, name string
			if err := r.Scan(&id, &suite, &name); err != nil {
				return storeErr("read tests", err)
			}
			names[id] = pony.TestKey{Suite: dec(suite), Name: dec(name)}
		}
		if err := r.Err(); err != nil {
			return storeErr("read tests", err)
		}
		return nil
	}
	switch {
	case len(unknown) == 0:
	case len(unknown) <= keysPerQuery:
		args := make([]any, len(unknown))
		marks := make([]byte, 0, 2*len(unknown))
		for i, id := range unknown {
			if i > 0 {
				marks = append(marks, ',')
			}
			marks = append(marks, '?')
			args[i] = id
		}
		if err := read(`SELECT id, suite, name FROM tests WHERE id IN (`+string(marks)+`)`, args...); err != nil {
			return err
		}
	default:
		if err := read(`SELECT id, suite, name FROM tests WHERE package = ?`, pkg); err != nil {
			return err
		}
	}
	s.states.putTestNames(pkg, names)
	for i := range rows {
		k := names[rows[i].id]
		rows[i].st.Suite, rows[i].st.Name = k.Suite, k.Name
	}
	return nil
}

// envs reads a package's environments, by key.
func (s *Store) envs(db *gorm.DB, pkg string) ([]aggregator.EnvInfo, error) {
	var rows []struct {
		EnvKey, Package, Host, Arch, Runtime, Tags string
		LastResultKey                              string
		LastReceived                               time.Time
		ClientInfo                                 string
	}
	err := db.Raw(`SELECT env_key, package, host, arch, runtime, tags, last_result_key, last_received, client_info
		FROM envs WHERE package = ? ORDER BY env_key`, pkg).Scan(&rows).Error
	if err != nil {
		return nil, storeErr("read environments", err)
	}
	out := make([]aggregator.EnvInfo, len(rows))
	for i, r := range rows {
		out[i] = aggregator.EnvInfo{Key: r.EnvKey,
			Env:          aggregator.Env{Package: r.Package, Host: r.Host, Arch: r.Arch, Runtime: r.Runtime, Tags: parseTags(r.Tags)},
			LastReceived: r.LastReceived.UTC(), LastResult: r.LastResultKey}
		if err := json.Unmarshal([]byte(r.ClientInfo), &out[i].ClientInfo); err != nil {
			return nil, fmt.Errorf("read environment %s: stored client_info: %w", r.EnvKey, err)
		}
	}
	return out, nil
}

// Changes returns the changes CreateResult recorded with a result. A
// result stored before migration 0003 has those the migration computed.
func (s *Store) Changes(ctx context.Context, resultKey string) (aggregator.Changes, error) {
	var rows []struct {
		Changes *string
		Infra   bool
	}
	if err := s.r.WithContext(ctx).Raw(`SELECT changes, infra FROM results WHERE result_key = ?`, resultKey).Scan(&rows).Error; err != nil {
		return aggregator.Changes{}, storeErr("read changes", err)
	}
	if len(rows) == 0 {
		return aggregator.Changes{}, fmt.Errorf("read changes of %s: %w", resultKey, aggregator.ErrNotFound)
	}
	if rows[0].Changes == nil { // stored with the upkeep off (benchmarks only)
		return aggregator.Changes{Infra: rows[0].Infra}, nil
	}
	var c aggregator.Changes
	if err := json.Unmarshal([]byte(*rows[0].Changes), &c); err != nil {
		return aggregator.Changes{}, fmt.Errorf("read changes of %s: %w", resultKey, err)
	}
	return c, nil
}

// expectedEnvRow is one environment a package expects.
type expectedEnvRow struct {
	Package    string
	Idx        int
	Name       string
	Match      string // JSON of the aggregator.Env to match
	IntervalMs int64  `gorm:"column:interval_ms"`
}

func (expectedEnvRow) TableName() string { return "expected_envs" }

// SetExpected replaces the environments a package expects, in one
// transaction.
func (s *Store) SetExpected(ctx context.Context, pkg string, envs []aggregator.ExpectedEnv) error {
	rows := make([]expectedEnvRow, len(envs))
	for i, e := range envs {
		m, err := json.Marshal(e.Match)
		if err != nil {
			return fmt.Errorf("set expected environments: %w", err)
		}
		rows[i] = expectedEnvRow{Package: pkg, Idx: i, Name: e.Name, Match: string(m), IntervalMs: e.Interval.Milliseconds()}
	}
	err := s.w.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("package = ?", pkg).Delete(&expectedEnvRow{}).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		return tx.CreateInBatches(rows, s.batchSize(5)).Error
	})
	return storeErr("set expected environments", err)
}

// Expected returns the environments a package expects, in the order set.
func (s *Store) Expected(ctx context.Context, pkg string) ([]aggregator.ExpectedEnv, error) {
	var rows []expectedEnvRow
	if err := s.r.WithContext(ctx).Where("package = ?", pkg).Order("idx").Find(&rows).Error; err != nil {
		return nil, storeErr("read expected environments", err)
	}
	out := make([]aggregator.ExpectedEnv, len(rows))
	for i, r := range rows {
		out[i] = aggregator.ExpectedEnv{Name: r.Name, Interval: time.Duration(r.IntervalMs) * time.Millisecond}
		if err := json.Unmarshal([]byte(r.Match), &out[i].Match); err != nil {
			return nil, fmt.Errorf("read expected environments of %s: %w", pkg, err)
		}
	}
	return out, nil
}
