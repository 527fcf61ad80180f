package aggregator

import (
	"fmt"
	"strings"
	"time"
)

// BuildReason says why ShouldBuild answered as it did; the codes are
// pony-build's reasons.
type BuildReason string

// The reasons, in the order they are checked.
const (
	ReasonRequested BuildReason = "requested"  // someone asked for a build of this environment
	ReasonBuilding  BuildReason = "building"   // a machine reserved it and may be building now
	ReasonStale     BuildReason = "stale"      // the last result is older than a day (configurable)
	ReasonFailed    BuildReason = "failed"     // the last result failed
	ReasonNone      BuildReason = "none"       // no result for this environment
	ReasonUpToDate  BuildReason = "up_to_date" // nothing to do
)

// BuildAnswer is the answer to "should I build?".
type BuildAnswer struct {
	Build  bool        `json:"build"`
	Reason BuildReason `json:"reason"`
	// Message is pony-build's human-readable reason.
	Message string         `json:"message"`
	Last    *ResultSummary `json:"last,omitempty"`
}

// DecideBuild is pony-build's check_should_build as a pure function: a
// pending request wins; then a reservation still in force says "may be in
// build now"; then the last result: none, older than staleAfter, or failed
// means build; otherwise the build is up to date.
func DecideBuild(now time.Time, env Env, requested bool, res *Reservation, last *ResultSummary, staleAfter time.Duration) BuildAnswer {
	switch {
	case requested:
		return BuildAnswer{Build: true, Reason: ReasonRequested, Message: "build requested", Last: last}
	case res != nil && now.Before(res.Until):
		return BuildAnswer{Build: false, Reason: ReasonBuilding, Message: "may be in build now", Last: last}
	case last == nil:
		return BuildAnswer{Build: true, Reason: ReasonNone, Message: fmt.Sprintf("no build recorded for %s; build!", strings.Join(env.Tagset(), ", "))}
	case now.Sub(last.Received) >= staleAfter:
		return BuildAnswer{Build: true, Reason: ReasonStale, Message: fmt.Sprintf("last build was %s ago; do build!", now.Sub(last.Received).Round(time.Second)), Last: last}
	case !last.Success:
		return BuildAnswer{Build: true, Reason: ReasonFailed, Message: "last build was unsuccessful; go!", Last: last}
	}
	return BuildAnswer{Build: false, Reason: ReasonUpToDate, Message: "build up to date", Last: last}
}
