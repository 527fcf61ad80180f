package pony

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Bag is one report: who ran what where (ClientInfo) and the steps it ran.
type Bag struct {
	ClientInfo ClientInfo `json:"client_info"`
	Steps      []Step     `json:"results_list"`
	// Receipt is written by the server only; a client that sends one is
	// ignored on that point.
	Receipt *Receipt `json:"receipt,omitempty"`
}

// ClientInfo describes the environment a bag was produced in. Keys this type
// does not know are kept in Extra and written back untouched.
type ClientInfo struct {
	Package  string   `json:"package"`
	Host     string   `json:"host,omitempty"`
	Arch     string   `json:"arch,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Runtime  string   `json:"runtime,omitempty"`
	Commit   string   `json:"commit,omitempty"`
	Branch   string   `json:"branch,omitempty"`
	BuildURL string   `json:"build_url,omitempty"`
	// Success is the client's own verdict; nil means "compute it from the
	// steps" (see Bag.Success).
	Success  *bool   `json:"success,omitempty"`
	Duration float64 `json:"duration,omitempty"`
	// Extra holds every other key, as sent.
	Extra map[string]json.RawMessage `json:"-"`
}

// Step is one thing the client ran: a build, a test command, a parsed report
// file. Keys this type does not know are kept in Extra.
type Step struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Command string `json:"command,omitempty"`
	// Status is the step's exit code: 0 success, -1 could not run.
	Status     int     `json:"status"`
	Output     string  `json:"output,omitempty"`
	Errout     string  `json:"errout,omitempty"`
	Duration   float64 `json:"duration,omitempty"`
	Format     string  `json:"format,omitempty"`
	Incomplete bool    `json:"incomplete,omitempty"`
	// Tests holds one entry per test attempt, in the order they finished.
	Tests []TestResult `json:"tests,omitempty"`
	// Extra holds every other key, as sent.
	Extra map[string]json.RawMessage `json:"-"`
}

// TestResult is one attempt of one test.
type TestResult struct {
	Suite    string  `json:"suite,omitempty"`
	Name     string  `json:"name"`
	Status   Status  `json:"status"`
	Duration float64 `json:"duration,omitempty"`
	// Attempt numbers reruns of the same test within a step: 1, 2, 3…
	// Zero is read as 1.
	Attempt    int               `json:"attempt,omitempty"`
	Message    string            `json:"message,omitempty"`
	Output     string            `json:"output,omitempty"`
	File       string            `json:"file,omitempty"`
	Line       int               `json:"line,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Receipt is the server's acknowledgement of a stored bag.
type Receipt struct {
	ResultKey string    `json:"result_key"`
	Time      time.Time `json:"time"`
	ClientIP  string    `json:"client_ip,omitempty"`
}

// TestKey identifies a test within a package.
type TestKey struct {
	Suite, Name string
}

// Key returns the test's identity within its package.
func (t TestResult) Key() TestKey { return TestKey{t.Suite, t.Name} }

// AttemptNumber returns Attempt, reading zero as the first attempt.
func (t TestResult) AttemptNumber() int {
	if t.Attempt < 1 {
		return 1
	}
	return t.Attempt
}

// Success is the bag's verdict: the client's own when it sent one, otherwise
// true when every step succeeded.
func (b *Bag) Success() bool {
	if b.ClientInfo.Success != nil {
		return *b.ClientInfo.Success
	}
	for i := range b.Steps {
		if !b.Steps[i].Succeeded() {
			return false
		}
	}
	return true
}

// Duration is the bag's duration in seconds: the client's own when it sent
// one, otherwise the sum of its steps' durations (0 when none is known).
func (b *Bag) Duration() float64 {
	if b.ClientInfo.Duration > 0 {
		return b.ClientInfo.Duration
	}
	var d float64
	for i := range b.Steps {
		d += b.Steps[i].Duration
	}
	return d
}

// Succeeded reports whether the step exited 0, no test's verdict is a
// failure or an error, and its input was complete.
func (s *Step) Succeeded() bool {
	if s.Status != 0 || s.Incomplete {
		return false
	}
	t := s.Totals()
	return t.Fail == 0 && t.Error == 0
}

var clientInfoKeys = []string{"package", "host", "arch", "tags", "runtime", "commit", "branch", "build_url", "success", "duration"}

var stepKeys = []string{"type", "name", "command", "status", "output", "errout", "duration", "format", "incomplete", "tests", "totals"}

// MarshalJSON writes the known fields and then every Extra key.
func (c ClientInfo) MarshalJSON() ([]byte, error) {
	type plain ClientInfo
	return marshalWithExtra(plain(c), c.Extra, clientInfoKeys)
}

// UnmarshalJSON reads the known fields and keeps every other key in Extra.
func (c *ClientInfo) UnmarshalJSON(b []byte) error {
	type plain ClientInfo
	var p plain
	extra, err := unmarshalWithExtra(b, &p, clientInfoKeys)
	if err != nil {
		return fmt.Errorf("client_info: %w", err)
	}
	*c = ClientInfo(p)
	c.Extra = extra
	return nil
}

// MarshalJSON writes the known fields, the computed totals, and every Extra key.
func (s Step) MarshalJSON() ([]byte, error) {
	type plain Step
	out := struct {
		plain
		Totals *Totals `json:"totals,omitempty"`
	}{plain: plain(s)}
	if len(s.Tests) > 0 {
		t := s.Totals()
		out.Totals = &t
	}
	return marshalWithExtra(out, s.Extra, stepKeys)
}

// UnmarshalJSON reads the known fields and keeps every other key in Extra.
// A "totals" key is dropped: totals are always computed from the tests.
func (s *Step) UnmarshalJSON(b []byte) error {
	type plain Step
	var p plain
	extra, err := unmarshalWithExtra(b, &p, stepKeys)
	if err != nil {
		return err
	}
	*s = Step(p)
	s.Extra = extra
	return nil
}

func marshalWithExtra(known any, extra map[string]json.RawMessage, knownKeys []string) ([]byte, error) {
	b, err := json.Marshal(known)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !contains(knownKeys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return b, nil
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Write(b[:len(b)-1]) // drop the closing brace
	for _, k := range keys {
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		v := extra[k]
		if !json.Valid(v) {
			return nil, fmt.Errorf("extra key %q holds invalid JSON", k)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func unmarshalWithExtra(b []byte, known any, knownKeys []string) (map[string]json.RawMessage, error) {
	if err := json.Unmarshal(b, known); err != nil {
		return nil, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	var extra map[string]json.RawMessage
	for k, v := range all {
		if contains(knownKeys, k) {
			continue
		}
		if extra == nil {
			extra = make(map[string]json.RawMessage)
		}
		extra[k] = v
	}
	return extra, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
