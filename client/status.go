package client

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// PackageStatus is a package's latest result per environment, as
// `GET /api/v1/packages/{pkg}/tagsets` answers it: what `pony-report
// status` reads.
type PackageStatus struct {
	Package  string           `json:"package"`
	Tagsets  []StatusTagset   `json:"tagsets"`
	Expected []StatusExpected `json:"expected"`
}

// StatusTagset is one environment and its latest result.
type StatusTagset struct {
	Env     StatusEnv    `json:"env"`
	Latest  StatusResult `json:"latest"`
	Results int          `json:"results"`
	Stale   bool         `json:"stale"`
}

// StatusEnv is an environment: pony-build's tagset.
type StatusEnv struct {
	Host    string   `json:"host"`
	Arch    string   `json:"arch"`
	Runtime string   `json:"runtime,omitempty"`
	Tags    []string `json:"tags"`
}

// StatusResult is a stored result without its steps.
type StatusResult struct {
	Key        string      `json:"result_key"`
	Received   time.Time   `json:"time"`
	Commit     string      `json:"commit,omitempty"`
	Branch     string      `json:"branch,omitempty"`
	Success    bool        `json:"success"`
	Incomplete bool        `json:"incomplete,omitempty"`
	Totals     pony.Totals `json:"totals"`
}

// StatusExpected is an environment the package expects results from.
type StatusExpected struct {
	Name     string    `json:"name,omitempty"`
	Match    StatusEnv `json:"match"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	Missing  bool      `json:"missing"`
	Reason   string    `json:"reason,omitempty"`
}

// Status asks server for pkg's latest result per environment, retrying as
// Send does.
func (s *Sender) Status(ctx context.Context, server, pkg string) (*PackageStatus, error) {
	var st PackageStatus
	_, err := s.call(ctx, apiCall{method: "GET", server: server, path: "/api/v1/packages/" + url.PathEscape(pkg) + "/tagsets", retry: true}, &st)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// EnvFilter selects environments: each field that is set must match (a
// tag: be one of the environment's).
type EnvFilter struct {
	Host, Arch, Runtime string
	Tags                []string
}

// Match reports whether e is selected.
func (f EnvFilter) Match(e StatusEnv) bool {
	if f.Host != "" && f.Host != e.Host || f.Arch != "" && f.Arch != e.Arch || f.Runtime != "" && f.Runtime != e.Runtime {
		return false
	}
	for _, t := range f.Tags {
		if !slices.Contains(e.Tags, t) {
			return false
		}
	}
	return true
}

// matchExpected reports whether an expected environment is one f selects:
// its match names what f asks for (an expected "any linux-arm64 host" is
// not about --host a).
func (f EnvFilter) matchExpected(x StatusExpected) bool {
	return f.Match(x.Match)
}

// Verdict is what `pony-report status` concludes.
type Verdict struct {
	// Lines describe each selected environment, then each missing one,
	// their columns separated by tabs (for a text/tabwriter).
	Lines []string
	// Envs counts the selected environments, Failing those whose latest
	// result failed or is incomplete, Missing the expected ones that went
	// quiet.
	Envs, Failing, Missing int
}

// OK reports whether every selected environment's latest result passed and
// none that is expected is missing.
func (v Verdict) OK() bool { return v.Envs > 0 && v.Failing == 0 && v.Missing == 0 }

// Judge reads st for the environments f selects. server makes the result
// links; now ages them.
func Judge(st *PackageStatus, f EnvFilter, server string, now time.Time) Verdict {
	var v Verdict
	for _, ts := range st.Tagsets {
		if !f.Match(ts.Env) {
			continue
		}
		v.Envs++
		r := ts.Latest
		mark, what := "✓ pass", fmt.Sprintf("%d tests", r.Totals.Tests)
		switch {
		case !r.Success:
			v.Failing++
			mark = "✗ FAIL"
			what = fmt.Sprintf("%d of %d tests failed", r.Totals.Fail+r.Totals.Error, r.Totals.Tests)
		case r.Incomplete:
			v.Failing++
			mark = "✗ INCOMPLETE"
		}
		if r.Totals.Flaky > 0 {
			what += fmt.Sprintf(", %d flaky", r.Totals.Flaky)
		}
		age := "received " + Age(now.Sub(r.Received)) + " ago"
		if ts.Stale {
			age += " (stale)"
		}
		commit := r.Commit
		if len(commit) > 10 {
			commit = commit[:10]
		}
		if r.Branch != "" {
			commit = strings.TrimSpace(commit + " " + r.Branch)
		}
		parts := []string{mark, envName(ts.Env), what, age}
		if commit != "" {
			parts = append(parts, commit)
		}
		parts = append(parts, strings.TrimSuffix(server, "/")+"/r/"+url.PathEscape(r.Key))
		v.Lines = append(v.Lines, strings.Join(parts, "\t"))
	}
	for _, x := range st.Expected {
		if !x.Missing || !f.matchExpected(x) {
			continue
		}
		v.Missing++
		name := x.Name
		if name == "" {
			name = envName(x.Match)
		}
		line := "? MISSING\t" + name + "\texpected"
		if x.Reason != "" {
			line += "\t" + x.Reason
		} else if !x.LastSeen.IsZero() {
			line += "\tlast seen " + Age(now.Sub(x.LastSeen)) + " ago"
		}
		v.Lines = append(v.Lines, line)
	}
	return v
}

// envName is an environment on one line: host arch runtime [tags].
func envName(e StatusEnv) string {
	var parts []string
	for _, p := range []string{e.Host, e.Arch, e.Runtime} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(e.Tags) > 0 {
		parts = append(parts, "["+strings.Join(e.Tags, ",")+"]")
	}
	if len(parts) == 0 {
		return "(any)"
	}
	return strings.Join(parts, " ")
}

// Age is a duration as people read an age: 45s, 12m, 5h, 3d.
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d.Seconds()), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
