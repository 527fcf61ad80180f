package web

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
)

// TestRunEventsStopWhenClientGoes opens a run's event stream, goes away,
// and checks that the stream stops reading the run: a page left open
// costs nothing once closed.
func TestRunEventsStopWhenClientGoes(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true, Logger: logger})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	svc := aggregator.New(st, aggregator.Options{})
	cs := &countingScoreboard{sb: svc, calls: map[string]int{}}
	h, err := New(cs, Options{Logger: logger, LivePoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	h.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	o, err := svc.OpenRun(ctx, &pony.Bag{ClientInfo: pony.ClientInfo{Package: "gone", Host: "h"}}, aggregator.RunOptions{IdempotencyKey: "idem-gone"})
	if err != nil {
		t.Fatalf("open run: %v", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, srv.URL+"/r/"+o.ResultKey+"/events", nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET events: %v", err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "retry:") {
		t.Fatalf("first line: got %q, %v; want retry:", line, err)
	}
	// The stream polls while the client listens.
	time.Sleep(100 * time.Millisecond)
	if n := cs.take()["Run"]; n < 3 {
		t.Errorf("while listening: got %d reads of the run in 100 ms, want several (a poll every 10 ms)", n)
	}
	cancel()
	resp.Body.Close()
	// Give the server a moment to notice, then count again.
	time.Sleep(100 * time.Millisecond)
	cs.take()
	time.Sleep(200 * time.Millisecond)
	if n := cs.take()["Run"]; n != 0 {
		t.Errorf("after the client went away: got %d reads of the run, want none", n)
	}
}
