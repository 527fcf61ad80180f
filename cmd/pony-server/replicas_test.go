package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// Two pony-server processes on one PostgreSQL database, started at the same
// moment on an empty database (they must not race on migrations), senders
// spread across both and retried on the other when one fails, one replica
// killed and restarted half-way, and the same Idempotency-Key sent to both
// at once: nothing is lost and nothing is stored twice.
func TestTwoReplicasPostgres(t *testing.T) {
	t.Parallel()
	db := testenv.FreshPostgres(t)
	var reps [2]atomic.Pointer[server]
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := tryStartServer("--db", db)
			if err == nil {
				reps[i].Store(s)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i := range reps {
			if s := reps[i].Load(); s != nil {
				s.kill()
			}
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d, started with the other on an empty database: %v", i, err)
		}
	}

	var steps []pony.Step
	for _, r := range durabilityReports {
		steps = append(steps, realStep(t, r))
	}
	const (
		pkg     = "replicas"
		senders = 8
		perSend = 40
	)
	// send posts b to replica first, then to the other one whenever a
	// replica answers 5xx or cannot be reached, until one takes it.
	send := func(b *durableBag, first int) (string, error) {
		var last string
		for try := range 40 {
			s := reps[(first+try)%2].Load()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			code, body, err := post(ctx, s.URL+"/api/v1/results", "application/json", b.body, b.key, "")
			cancel()
			switch {
			case err == nil && (code == 200 || code == 201):
				var r struct {
					Receipt pony.Receipt `json:"receipt"`
				}
				if err := json.Unmarshal(body, &r); err != nil {
					return "", err
				}
				return r.Receipt.ResultKey, nil
			case err == nil && code < 500:
				return "", fmt.Errorf("got %d %s, want 201", code, body)
			}
			last = fmt.Sprintf("%d %s %v", code, body, err)
			time.Sleep(time.Duration(try) * 10 * time.Millisecond)
		}
		return "", fmt.Errorf("no replica took it; last answer %s", last)
	}

	var (
		mu     sync.Mutex
		bags   []*durableBag
		sent   atomic.Int64
		killed = make(chan struct{})
	)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perSend {
				b := newDurableBag(t, steps, pkg, s, n)
				key, err := send(b, (s+n)%2)
				if err != nil {
					t.Errorf("bag %s: %v", b.marker, err)
					continue
				}
				b.receipt = key
				mu.Lock()
				bags = append(bags, b)
				mu.Unlock()
				if sent.Add(1) == senders*perSend/2 {
					close(killed)
				}
			}
		}()
	}
	// The same key to both replicas at once: one result, one key.
	dupes := make([]*durableBag, 24)
	for i := range dupes {
		dupes[i] = newDurableBag(t, steps, pkg, senders, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keys [2]string
			var inner sync.WaitGroup
			for r := range 2 {
				inner.Add(1)
				go func() {
					defer inner.Done()
					k, err := send(dupes[i], r)
					if err != nil {
						t.Errorf("bag %s via replica %d: %v", dupes[i].marker, r, err)
					}
					keys[r] = k
				}()
			}
			inner.Wait()
			if keys[0] != keys[1] {
				t.Errorf("bag %s sent to both replicas at once: got result keys %s and %s, want one", dupes[i].marker, keys[0], keys[1])
			}
			dupes[i].receipt = keys[0]
		}()
	}
	// Half-way, replica 0 is killed (SIGKILL) and started again.
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-killed:
		reps[0].Load().kill()
		time.Sleep(200 * time.Millisecond) // senders fail over to replica 1 meanwhile
		s, err := tryStartServer("--db", db)
		if err != nil {
			t.Errorf("restart replica 0: %v", err)
			break
		}
		reps[0].Store(s)
	case <-allDone:
		t.Error("the senders never got half-way")
	}
	<-allDone
	if t.Failed() {
		t.FailNow()
	}
	bags = append(bags, dupes...)

	// Both replicas see every bag exactly once, under its receipt's key.
	for i := range reps {
		base := reps[i].Load().URL
		count := map[string]int{}
		keyOf := map[string]string{}
		total, next := 0, ""
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
			getJSON(t, base+"/api/v1/packages/"+pkg+"/results?"+q.Encode(), "", 200, &page)
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
			t.Errorf("replica %d: got %d results, want %d", i, total, len(bags))
		}
		for _, b := range bags {
			if count[b.marker] != 1 || keyOf[b.marker] != b.receipt {
				t.Errorf("replica %d: bag %s stored %d times as %s, want once as %s", i, b.marker, count[b.marker], keyOf[b.marker], b.receipt)
			}
		}
	}
	for i := range reps {
		reps[i].Load().stop(t)
	}
}
