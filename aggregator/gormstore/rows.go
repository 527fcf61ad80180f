package gormstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// The row types mirror the tables as the latest migration leaves them. They
// are unexported: the Store's methods speak pony and aggregator types.

// resultRow is one stored bag's receipt, environment, verdict and totals;
// client_info is kept whole as the JSON the bag's ClientInfo marshals to.
type resultRow struct {
	ID             int64
	ResultKey      string
	IdempotencyKey *string
	AuthKeyHash    string
	Package        string
	Host           string
	Arch           string
	Runtime        string
	EnvKey         string // envKey(the result's aggregator.Env)
	Tags           string // JSON array, normalised (sorted, deduplicated)
	Commit         string `gorm:"column:commit"`
	Branch         string
	BuildURL       string `gorm:"column:build_url"`
	Success        bool
	Incomplete     bool
	Duration       float64
	ReceivedAt     time.Time
	ClientIP       string `gorm:"column:client_ip"`
	NTests         int
	NPass          int
	NFail          int
	NError         int
	NSkip          int
	NXFail         int `gorm:"column:n_xfail"`
	NXPass         int `gorm:"column:n_xpass"`
	NFlaky         int
	NAttempts      int
	ClientInfo     string
	// Changes is the JSON of the aggregator.Changes against the previous
	// result of the environment and branch; Infra says the result was an
	// infrastructure failure (aggregator.IsInfraFailure).
	Changes *string
	Infra   bool
}

func (resultRow) TableName() string { return "results" }

// summaryColumns are the results columns a ResultSummary needs.
const summaryColumns = `results.id, results.result_key, results.package, results.host, results.arch, results.runtime, results.tags, results."commit", results.branch, results.build_url, results.success, results.incomplete, results.duration, results.received_at, results.client_ip, results.n_tests, results.n_pass, results.n_fail, results.n_error, results.n_skip, results.n_xfail, results.n_xpass, results.n_flaky, results.n_attempts`

type resultTagRow struct {
	ResultID int64
	Tag      string
}

func (resultTagRow) TableName() string { return "result_tags" }

type stepRow struct {
	ID         int64
	ResultID   int64
	Idx        int
	Type       string
	Name       string
	Command    string
	Status     int
	Output     string
	Errout     string
	Duration   float64
	Format     string
	Incomplete bool
	Extra      *string // JSON object of the step's unknown keys, values as sent
}

func (stepRow) TableName() string { return "steps" }

// testIdentityRow inserts a test identity; it has no ID field, so that GORM
// asks nothing back (the ids are selected afterwards, for old and new
// identities alike).
type testIdentityRow struct {
	Package string
	Suite   string
	Name    string
}

func (testIdentityRow) TableName() string { return "tests" }

// verdictRow is one test attempt entry of a step. Final marks the test's
// last attempt in the step; on it, Attempts counts the test's entries and
// RetryFlake says an earlier one failed and this one passed. Like
// testIdentityRow it has no ID field: nothing is read back on insert.
type verdictRow struct {
	ResultID   int64
	StepID     int64
	TestID     int64
	Idx        int
	Attempt    int
	Status     string
	Duration   float64
	Message    string
	Output     string
	File       string
	Line       int
	Properties *string
	Final      bool
	Attempts   int
	RetryFlake bool
}

func (verdictRow) TableName() string { return "verdicts" }

// verdictColumns is how many columns a verdictRow inserts.
const verdictColumns = 15

type apiTokenRow struct {
	ID      string
	Hash    string
	Package string
	Scope   string
	Name    string
	Created time.Time
}

func (apiTokenRow) TableName() string { return "api_tokens" }

type buildReservationRow struct {
	EnvKey  string
	Package string
	Host    string
	Arch    string
	Runtime string
	Tags    string
	Until   time.Time
}

func (buildReservationRow) TableName() string { return "build_reservations" }

type buildRequestRow struct {
	EnvKey  string
	Package string
	Host    string
	Arch    string
	Runtime string
	Tags    string
	Created time.Time
}

func (buildRequestRow) TableName() string { return "build_requests" }

// envKey is the stored form of aggregator.Env.Key(): its hex SHA-256. The
// key itself separates fields with NUL bytes, which PostgreSQL's text
// cannot hold; the hash is also short and fixed-size for the indexes.
func envKey(e aggregator.Env) string {
	h := sha256.Sum256([]byte(e.Key()))
	return hex.EncodeToString(h[:])
}

func tagsJSON(tags []string) string {
	if tags == nil {
		tags = []string{}
	}
	b, _ := json.Marshal(tags) // a []string always marshals
	return string(b)
}

func parseTags(s string) []string {
	tags := []string{}
	_ = json.Unmarshal([]byte(s), &tags) // written by tagsJSON; an unreadable value reads as no tags
	return tags
}

// msUTC is the stored form of a time: UTC, millisecond precision, the same
// on both dialects (PostgreSQL keeps microseconds, SQLite what it is given).
func msUTC(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// nulMark starts the stored form of a text that holds a NUL byte (which
// PostgreSQL's text cannot hold) or that starts with nulMark itself: the
// mark and the text in base64. Every other text is stored as is.
const nulMark = "\x01pony-base64:"

func enc(s string) string {
	if strings.IndexByte(s, 0) < 0 && !strings.HasPrefix(s, nulMark) {
		return s
	}
	return nulMark + base64.StdEncoding.EncodeToString([]byte(s))
}

func dec(s string) string {
	if !strings.HasPrefix(s, nulMark) {
		return s
	}
	b, err := base64.StdEncoding.DecodeString(s[len(nulMark):])
	if err != nil {
		return s
	}
	return string(b)
}

// extraJSON writes a step's unknown keys as a JSON object whose values are
// the raw bytes as sent (json.Marshal would compact them), sorted by key;
// nil when there are none.
func extraJSON(extra map[string]json.RawMessage) (*string, error) {
	if len(extra) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k) // a string always marshals
		b.Write(kb)
		b.WriteByte(':')
		v := extra[k]
		if !json.Valid(v) {
			return nil, fmt.Errorf("extra key %q holds invalid JSON", k)
		}
		b.Write(v)
	}
	b.WriteByte('}')
	s := enc(b.String())
	return &s, nil
}

func parseExtra(s *string) (map[string]json.RawMessage, error) {
	if s == nil {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(dec(*s)), &m); err != nil {
		return nil, fmt.Errorf("stored step extra: %w", err)
	}
	return m, nil
}

func propertiesJSON(p map[string]string) *string {
	if p == nil {
		return nil
	}
	b, _ := json.Marshal(p) // a map[string]string always marshals
	s := string(b)
	return &s
}

func parseProperties(s *string) (map[string]string, error) {
	if s == nil {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(*s), &m); err != nil {
		return nil, fmt.Errorf("stored test properties: %w", err)
	}
	return m, nil
}

// summary is a results row read with summaryColumns.
func (r *resultRow) summary() aggregator.ResultSummary {
	return aggregator.ResultSummary{
		Key:      r.ResultKey,
		Received: r.ReceivedAt.UTC(),
		ClientIP: r.ClientIP,
		Env:      aggregator.Env{Package: r.Package, Host: r.Host, Arch: r.Arch, Runtime: r.Runtime, Tags: parseTags(r.Tags)},
		Commit:   r.Commit, Branch: r.Branch, BuildURL: dec(r.BuildURL),
		Success: r.Success, Incomplete: r.Incomplete, Duration: r.Duration,
		Totals: pony.Totals{Tests: r.NTests, Pass: r.NPass, Fail: r.NFail, Error: r.NError, Skip: r.NSkip,
			XFail: r.NXFail, XPass: r.NXPass, Flaky: r.NFlaky, Attempts: r.NAttempts},
	}
}
