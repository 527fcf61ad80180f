package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// The durability test's figures: the 8 senders for 20 s, the
// server killed (SIGKILL) half-way.
const (
	durabilitySenders  = 8
	durabilityDuration = 20 * time.Second
)

// durableBag is one bag a sender posted, with what became of it.
type durableBag struct {
	marker string // client_info "marker" (and "commit"): unique per bag
	key    string // its Idempotency-Key
	body   []byte
	// receipt is the result key of the first 2xx; "" while unacknowledged.
	receipt string
}

// realSteps are the real reports the durability senders rotate through.
var durabilityReports = []string{"gotest/everyday.json", "junit/pytest-xunit2.xml", "tap/node-test.tap", "gotest/real_xsync.json"}

// newDurableBag builds sender s's bag n from a real step.
func newDurableBag(t testing.TB, steps []pony.Step, pkg string, s, n int) *durableBag {
	marker := fmt.Sprintf("s%d-b%d", s, n)
	bag := pony.Bag{
		ClientInfo: pony.ClientInfo{
			Package: pkg, Host: fmt.Sprintf("sender-%d", s), Arch: "linux-amd64",
			Tags: []string{"durability"}, Commit: marker,
			Extra: map[string]json.RawMessage{"marker": json.RawMessage(fmt.Sprintf("%q", marker))},
		},
		Steps: []pony.Step{steps[n%len(steps)]},
	}
	body, err := json.Marshal(&bag)
	if err != nil {
		t.Fatal(err)
	}
	return &durableBag{marker: marker, key: "durability-" + marker + "-" + randomHex(8), body: body}
}

func TestDurabilitySQLite(t *testing.T) {
	t.Parallel()
	durability(t, filepath.Join(t.TempDir(), "pony.db"))
}

func TestDurabilityPostgres(t *testing.T) {
	t.Parallel()
	durability(t, testenv.FreshPostgres(t))
}

// durability runs 8 senders posting real bags with Idempotency-Keys for
// 20 s, kills the server with SIGKILL half-way and restarts it on the same
// database, resends what was not acknowledged, then checks through the API
// that every bag is stored exactly once, under the key first acknowledged.
func durability(t *testing.T, db string) {
	var steps []pony.Step
	for _, r := range durabilityReports {
		steps = append(steps, realStep(t, r))
	}
	const pkg = "durability"
	srv := startServer(t, "--db", db)
	var base atomic.Pointer[string]
	base.Store(&srv.URL)

	ctx, cancel := context.WithTimeout(context.Background(), durabilityDuration)
	defer cancel()
	var (
		mu   sync.Mutex
		bags []*durableBag
		wg   sync.WaitGroup
	)
	for s := range durabilitySenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				b := newDurableBag(t, steps, pkg, s, n)
				mu.Lock()
				bags = append(bags, b)
				mu.Unlock()
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				code, body, err := post(rctx, *base.Load()+"/api/v1/results", "application/json", b.body, b.key, "")
				rcancel()
				switch {
				case err == nil && code/100 == 2:
					var r struct {
						Receipt pony.Receipt `json:"receipt"`
					}
					if json.Unmarshal(body, &r) == nil {
						mu.Lock()
						b.receipt = r.Receipt.ResultKey
						mu.Unlock()
					}
				case err == nil:
					// The server answered but refused or failed: not
					// acknowledged; it is resent at the end.
					if code < 500 {
						t.Errorf("bag %s: got %d %s, want 201 or a 5xx", b.marker, code, body)
					}
				default: // the server is down: back off a little
					select {
					case <-ctx.Done():
					case <-time.After(20 * time.Millisecond):
					}
				}
			}
		}()
	}

	// Half-way: kill -9, then start again on the same database.
	time.Sleep(durabilityDuration / 2)
	srv.kill()
	mu.Lock()
	ackedBeforeKill := 0
	for _, b := range bags {
		if b.receipt != "" {
			ackedBeforeKill++
		}
	}
	mu.Unlock()
	srv = startServer(t, "--db", db)
	base.Store(&srv.URL)
	wg.Wait()
	if ackedBeforeKill == 0 {
		t.Fatalf("no bag was acknowledged in the %s before the kill\n%s", durabilityDuration/2, srv.stderr)
	}

	// Resend every bag not acknowledged, with its key; send the
	// acknowledged ones again too: each must answer with its first receipt.
	acked := map[string]string{} // marker → result key first acknowledged
	for _, b := range bags {
		if b.receipt != "" {
			acked[b.marker] = b.receipt
		}
	}
	unacked := len(bags) - len(acked)
	forEach(t, bags, func(b *durableBag) {
		code, body, err := post(context.Background(), srv.URL+"/api/v1/results", "application/json", b.body, b.key, "")
		if err != nil || (code != 200 && code != 201) {
			t.Errorf("resend %s: got %d %s (%v), want 201, or 200 when it was stored before", b.marker, code, body, err)
			return
		}
		var r struct {
			Receipt pony.Receipt `json:"receipt"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Errorf("resend %s: got %s: %v", b.marker, body, err)
			return
		}
		got := r.Receipt.ResultKey
		if b.receipt != "" && (got != b.receipt || code != 200) {
			t.Errorf("resend %s: got %d and result key %s, want 200 and the first receipt's %s", b.marker, code, got, b.receipt)
		}
		b.receipt = got
	})
	t.Logf("%d bags sent, %d acknowledged (%d before the kill), %d resent after it", len(bags), len(acked), ackedBeforeKill, unacked)

	// Every bag is stored exactly once: count the results by marker.
	count := map[string]int{}
	keyOf := map[string]string{}
	total := 0
	next := ""
	for {
		q := url.Values{"limit": {"500"}}
		if next != "" {
			q.Set("before", next)
		}
		var page struct {
			Results []struct {
				Key    string `json:"result_key"`
				Commit string `json:"commit"`
			} `json:"results"`
			Next string `json:"next"`
		}
		getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/results?"+q.Encode(), "", 200, &page)
		for _, r := range page.Results {
			count[r.Commit]++
			keyOf[r.Commit] = r.Key
			total++
		}
		if page.Next == "" || len(page.Results) == 0 {
			break
		}
		next = page.Next
	}
	if total != len(bags) {
		t.Errorf("got %d stored results, want %d (one per bag sent)", total, len(bags))
	}
	for _, b := range bags {
		if n := count[b.marker]; n != 1 {
			t.Errorf("bag %s: stored %d times, want once", b.marker, n)
		} else if keyOf[b.marker] != b.receipt {
			t.Errorf("bag %s: stored as %s, want %s (its receipt)", b.marker, keyOf[b.marker], b.receipt)
		}
		delete(count, b.marker)
	}
	for m, n := range count {
		t.Errorf("got %d stored results with marker %q, which no sender sent", n, m)
	}
	// And each acknowledged result is whole: its client_info marker and its
	// step came back.
	forEach(t, bags, func(b *durableBag) {
		var got pony.Bag
		if err := fetchJSON(srv.URL+"/api/v1/results/"+b.receipt, "", &got); err != nil {
			t.Error(err)
			return
		}
		var m string
		json.Unmarshal(got.ClientInfo.Extra["marker"], &m)
		if m != b.marker || len(got.Steps) != 1 || len(got.Steps[0].Tests) == 0 {
			t.Errorf("result %s: got marker %q and %d steps, want %q and 1 step with its tests", b.receipt, m, len(got.Steps), b.marker)
		}
	})
	srv.stop(t)
}

// forEach runs f on every bag, 8 at a time.
func forEach(t *testing.T, bags []*durableBag, f func(*durableBag)) {
	t.Helper()
	ch := make(chan *durableBag)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range ch {
				f(b)
			}
		}()
	}
	for _, b := range bags {
		ch <- b
	}
	close(ch)
	wg.Wait()
}
