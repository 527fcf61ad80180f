package aggregator

import (
	"fmt"
	"time"
)

// ExpectedStatus says whether an expected environment reported.
type ExpectedStatus struct {
	Expected ExpectedEnv `json:"expected"`
	// SatisfiedBy is the matching environment that reported last; nil when
	// none matches.
	SatisfiedBy *Env `json:"satisfied_by,omitempty"`
	// LastSeen is when SatisfiedBy last reported.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Missing: no matching environment reported within the interval.
	Missing bool `json:"missing"`
	// Reason explains Missing.
	Reason string `json:"reason,omitempty"`
}

// MissingExpected checks each expected environment against the package's
// environments at time now: it is satisfied by the matching environment
// (Env.Matches) that reported last, and missing when none matches ("never
// reported") or the newest matching result is older than its Interval
// ("gone quiet"). A zero Interval is satisfied by any result, however old
// (the Service replaces it by its StaleAfter when the expectation is set).
func MissingExpected(expected []ExpectedEnv, envs []EnvInfo, now time.Time) []ExpectedStatus {
	out := make([]ExpectedStatus, 0, len(expected))
	for _, x := range expected {
		st := ExpectedStatus{Expected: x}
		for i := range envs {
			e := &envs[i]
			if e.Env.Matches(x.Match) && (st.SatisfiedBy == nil || e.LastReceived.After(st.LastSeen)) {
				env := e.Env
				st.SatisfiedBy, st.LastSeen = &env, e.LastReceived
			}
		}
		switch {
		case st.SatisfiedBy == nil:
			st.Missing, st.Reason = true, "never reported"
		case x.Interval > 0 && now.Sub(st.LastSeen) > x.Interval:
			st.Missing = true
			st.Reason = fmt.Sprintf("last reported %s ago, expected every %s", now.Sub(st.LastSeen).Round(time.Second), x.Interval)
		}
		out = append(out, st)
	}
	return out
}

// expectedLabel names an expected environment: its Name, else its match.
func expectedLabel(x ExpectedEnv) string {
	if x.Name != "" {
		return x.Name
	}
	m := x.Match
	s := ""
	add := func(k, v string) {
		if v != "" {
			if s != "" {
				s += " "
			}
			s += k + "=" + v
		}
	}
	add("host", m.Host)
	add("arch", m.Arch)
	add("runtime", m.Runtime)
	for _, t := range m.Tags {
		add("tag", t)
	}
	return s
}
