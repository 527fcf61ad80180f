package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// Defaults of the live updates of a running run's page.
const (
	// DefaultLivePoll is how often /r/KEY/events reads the run.
	DefaultLivePoll = time.Second
	// DefaultLiveHeartbeat is how often an idle event stream sends a
	// comment, so that proxies and the browser keep it open.
	DefaultLiveHeartbeat = 15 * time.Second
	// DefaultLiveLifetime is how long one event stream lasts; EventSource
	// then opens a new one.
	DefaultLiveLifetime = 30 * time.Minute
	// liveRefresh is the <noscript> refresh interval of a running run's
	// page, in seconds.
	liveRefresh = 10
	// liveRetry is the reconnection delay the event stream asks of
	// EventSource, in milliseconds.
	liveRetry = 3000
)

// runView is what a result page shows of a run that is not complete.
type runView struct {
	State    aggregator.RunState
	Progress *aggregator.RunProgress
	Started  time.Time
	Updated  time.Time
	// Elapsed is the client's own count of seconds since the run began,
	// else the time since it was opened.
	Elapsed float64
	// TestsDone and Failed count the tests and the failures so far: in
	// the steps received and in the step running now.
	TestsDone, Failed int
	// Events is the URL of the page's event stream, Sig the "update"
	// event the stream would send now: the page's script compares them.
	Events, Sig string
}

// Running reports whether the run is still running (not abandoned).
func (r *runView) Running() bool { return r.State == aggregator.RunRunning }

// liveEvent is the data of an "update" event of /r/KEY/events: small, and
// equal from one poll to the next when nothing the page shows changed.
type liveEvent struct {
	State    aggregator.RunState     `json:"state"`
	Steps    int                     `json:"steps"`
	Tests    int                     `json:"tests"`
	Failed   int                     `json:"failed"`
	Progress *aggregator.RunProgress `json:"progress,omitempty"`
}

// doneEvent is the data of the "done" event: the run is an ordinary
// result now.
type doneEvent struct {
	State string `json:"state"`
	Key   string `json:"result_key"`
}

func newLiveEvent(r aggregator.Run) liveEvent {
	ev := liveEvent{State: r.State, Progress: r.Progress}
	if r.Bag != nil {
		ev.Steps = len(r.Bag.Steps)
		t := r.Bag.Totals()
		ev.Tests, ev.Failed = t.Tests, t.Fail+t.Error
	}
	return ev
}

func (e liveEvent) sig() string {
	b, err := json.Marshal(e)
	if err != nil {
		// A struct of strings and numbers always marshals.
		panic(fmt.Sprintf("marshal live event: %v", err))
	}
	return string(b)
}

// runPage renders a run that is not complete on the result page: a banner
// with its state, the steps received so far and the live progress.
func (h *Handler) runPage(c *gin.Context, r aggregator.Run) {
	bag := r.Bag
	if bag == nil {
		bag = &pony.Bag{}
	}
	p := h.newResultPage(r.Key, bag)
	ev := newLiveEvent(r)
	rv := &runView{State: r.State, Progress: r.Progress, Started: r.Started, Updated: r.Updated, TestsDone: ev.Tests, Failed: ev.Failed, Events: resultURL(r.Key) + "/events", Sig: ev.sig()}
	if r.Progress != nil {
		rv.TestsDone += r.Progress.Tests
		rv.Failed += r.Progress.Failed
	}
	switch {
	case r.Progress != nil && r.Progress.Elapsed > 0:
		rv.Elapsed = r.Progress.Elapsed
	case !r.Started.IsZero():
		rv.Elapsed = max(h.opts.Now().Sub(r.Started).Seconds(), 0)
	}
	p.Run = rv
	p.Env = r.Env
	if p.Env.Package == "" {
		p.Env = h.sb.EnvOf(bag.ClientInfo)
	}
	p.base.Title = []string{bag.ClientInfo.Package, string(r.State), envLabel(p.Env)}
	p.base.Scripts = []string{"live.js"}
	if r.State == aggregator.RunRunning {
		p.base.Refresh = liveRefresh
	}
	h.render(c, http.StatusOK, "result", p)
}

// runJSON serves a run that is not complete as GET /api/v1/results/KEY
// does: the bag so far with its state and progress.
func (h *Handler) runJSON(c *gin.Context, r aggregator.Run) {
	bag := r.Bag
	if bag == nil {
		bag = &pony.Bag{}
	}
	b, err := json.Marshal(bag)
	if err != nil {
		h.fail(c, err)
		return
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		h.fail(c, err)
		return
	}
	m["state"], _ = json.Marshal(r.State)
	if r.Progress != nil {
		m["progress"], _ = json.Marshal(r.Progress)
	}
	b, err = json.MarshalIndent(m, "", "  ")
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json; charset=utf-8", append(b, '\n'))
}

// liveState reads where the run of key stands: its update event, or done
// when it is a complete result. An error with code ENotFound means there
// is neither.
func (h *Handler) liveState(ctx context.Context, key string) (ev liveEvent, done bool, err error) {
	r, err := h.sb.Run(ctx, key)
	if err == nil {
		return newLiveEvent(r), false, nil
	}
	if aggregator.ErrorCode(err) != aggregator.ENotFound {
		return liveEvent{}, false, err
	}
	if _, rerr := h.sb.Result(ctx, key); rerr != nil {
		if aggregator.ErrorCode(rerr) == aggregator.ENotFound {
			return liveEvent{}, false, err
		}
		return liveEvent{}, false, rerr
	}
	return liveEvent{}, true, nil
}

// runEvents is "/r/:key/events", a Server-Sent Events stream of a run's
// changes: "update" (a liveEvent) when what the page shows changed, read
// from the Service every LivePoll (so it works behind any replica), "done"
// when the run is complete (then it closes), a comment every
// LiveHeartbeat. It ends when the client goes, after LiveLifetime, or
// when the Handler is closed; EventSource reconnects by itself.
func (h *Handler) runEvents(c *gin.Context) {
	ctx := c.Request.Context()
	key := c.Param("key")
	ev, done, err := h.liveState(ctx, key)
	if err != nil {
		status := http.StatusInternalServerError
		if aggregator.ErrorCode(err) == aggregator.ENotFound {
			status = http.StatusNotFound
		} else {
			h.log.Error("run events", "key", key, "err", err)
		}
		c.Header("Cache-Control", "no-cache")
		c.String(status, "%s\n", aggregator.ErrorMessage(err))
		return
	}
	w := c.Writer
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	// nginx and friends: do not buffer this answer.
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(format string, args ...any) bool {
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		w.Flush()
		return true
	}
	sendDone := func() {
		b, _ := json.Marshal(doneEvent{State: string(aggregator.RunComplete), Key: key})
		send("event: done\ndata: %s\n\n", b)
	}
	if done {
		sendDone()
		return
	}
	last := ev.sig()
	if !send("retry: %d\n\nevent: update\ndata: %s\n\n", liveRetry, last) {
		return
	}
	poll := time.NewTicker(h.opts.LivePoll)
	defer poll.Stop()
	beat := time.NewTicker(h.opts.LiveHeartbeat)
	defer beat.Stop()
	end := time.NewTimer(h.opts.LiveLifetime)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.closing:
			return
		case <-end.C:
			return
		case <-beat.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-poll.C:
			ev, done, err := h.liveState(ctx, key)
			switch {
			case errors.Is(ctx.Err(), context.Canceled):
				return
			case err != nil && aggregator.ErrorCode(err) == aggregator.ENotFound:
				// Neither a run nor a result any more: nothing to follow.
				return
			case err != nil:
				// The store may be back at the next poll.
				h.log.Warn("run events: read the run", "key", key, "err", err)
				continue
			case done:
				sendDone()
				return
			}
			if s := ev.sig(); s != last {
				last = s
				if !send("event: update\ndata: %s\n\n", s) {
					return
				}
			}
		}
	}
}

// runRow is one line of a package page's "running now" list.
type runRow struct {
	aggregator.Run
	Steps int
	// Totals are the steps received so far's.
	Totals  pony.Totals
	Elapsed float64
}

// Running reports whether the run is still running (not abandoned).
func (r runRow) Running() bool { return r.State == aggregator.RunRunning }

func (h *Handler) runRows(runs []aggregator.Run) []runRow {
	out := make([]runRow, 0, len(runs))
	for _, r := range runs {
		row := runRow{Run: r}
		if r.Bag != nil {
			row.Steps = len(r.Bag.Steps)
			row.Totals = r.Bag.Totals()
		}
		switch {
		case r.Progress != nil && r.Progress.Elapsed > 0:
			row.Elapsed = r.Progress.Elapsed
		case !r.Started.IsZero() && r.State == aggregator.RunRunning:
			row.Elapsed = max(h.opts.Now().Sub(r.Started).Seconds(), 0)
		}
		out = append(out, row)
	}
	return out
}

// Close ends every open event stream (their browsers reconnect, to
// another replica or to this one once it is back). Call it when the HTTP
// server shuts down, e.g. with http.Server.RegisterOnShutdown, so that
// long-lived streams do not hold the shutdown up. It is safe to call more
// than once.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closing) })
}
