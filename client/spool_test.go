package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSpoolSaveList(t *testing.T) {
	sp := &Spool{Dir: filepath.Join(t.TempDir(), "a", "spool")}
	env := testEnvelope(t, "http://pony.example")
	p, err := sp.Save(env)
	if err != nil {
		t.Fatal(err)
	}
	if p2, err := sp.Save(env); err != nil || p2 != p {
		t.Errorf("second save: got %q, %v; want %q (one file per bag)", p2, err, p)
	}
	list, err := sp.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Err != nil {
		t.Fatalf("got %+v, want one readable bag", list)
	}
	got := list[0].Envelope
	if got.IdempotencyKey != env.IdempotencyKey || got.Server != env.Server || !got.Created.Equal(env.Created) || string(got.Bag) != string(env.Bag) {
		t.Errorf("got %+v, want %+v", got, env)
	}
	ents, _ := os.ReadDir(sp.Dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("got a leftover temporary file %s, want none", e.Name())
		}
	}
}

func TestFlushMovesCorruptFilesAside(t *testing.T) {
	rc := newRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sp := &Spool{Dir: t.TempDir()}
	good := testEnvelope(t, srv.URL)
	goodPath, err := sp.Save(good)
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := os.ReadFile(goodPath)
	corrupt := []struct {
		name, body, reason string
	}{
		{"20260101T000000Z-notjson.json", "this is not JSON\n", "not a spooled bag: invalid character"},
		{"20260101T000001Z-truncated.json", string(whole[:len(whole)/2]), "not a spooled bag: unexpected end of JSON input"},
		{"20260101T000002Z-nokey.json", `{"server": "http://x", "bag": {}}`, "not a spooled bag: no idempotency_key"},
		{"20260101T000003Z-noserver.json", `{"idempotency_key": "k", "bag": {}}`, "not a spooled bag: no server"},
		{"20260101T000004Z-nobag.json", `{"idempotency_key": "k", "server": "http://x", "bag": [1]}`, "not a spooled bag: bag is not a JSON object"},
		{"20260101T000005Z-empty.json", "", "not a spooled bag: unexpected end of JSON input"},
	}
	for _, c := range corrupt {
		if err := os.WriteFile(filepath.Join(sp.Dir, c.name), []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A corrupt file already moved aside once under the same name.
	os.MkdirAll(filepath.Join(sp.Dir, "corrupt"), 0o700)
	os.WriteFile(filepath.Join(sp.Dir, "corrupt", corrupt[0].name), []byte("older"), 0o600)
	os.WriteFile(filepath.Join(sp.Dir, corrupt[2].name+".error"), []byte("a note"), 0o600)

	list, err := sp.List()
	if err != nil || len(list) != len(corrupt)+1 {
		t.Fatalf("List: got %d entries, %v; want %d", len(list), err, len(corrupt)+1)
	}
	rep, err := sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{Backoff: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sent) != 1 || rep.Sent[0].Envelope.IdempotencyKey != good.IdempotencyKey || len(rep.Remaining) != 0 {
		t.Errorf("flush: got %d sent, %d remaining; want the good bag sent, nothing remaining", len(rep.Sent), len(rep.Remaining))
	}
	if len(rep.Corrupt) != len(corrupt) {
		t.Fatalf("corrupt: got %d, want %d", len(rep.Corrupt), len(corrupt))
	}
	for i, c := range corrupt {
		got := rep.Corrupt[i]
		from := filepath.Join(sp.Dir, c.name)
		if got.Path != from || got.Err == nil || !strings.Contains(got.Err.Error(), from+": "+c.reason) {
			t.Errorf("%s: got path %s, reason %v; want %s and %q", c.name, got.Path, got.Err, from, c.reason)
		}
		want := filepath.Join(sp.Dir, "corrupt", c.name)
		if i == 0 {
			want += ".2" // the name was taken
		}
		if got.MovedTo != want {
			t.Errorf("%s: moved to %q, want %q", c.name, got.MovedTo, want)
		}
		if b, err := os.ReadFile(want); err != nil || string(b) != c.body {
			t.Errorf("%s: got %q, %v aside; want the file kept as it was", c.name, b, err)
		}
		if _, err := os.Stat(from); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: got %v, want it gone from the spool", c.name, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(sp.Dir, "corrupt", corrupt[2].name+".error")); string(b) != "a note" {
		t.Errorf("error note: got %q aside, want it moved with its bag", b)
	}
	if b, _ := os.ReadFile(filepath.Join(sp.Dir, "corrupt", corrupt[0].name)); string(b) != "older" {
		t.Errorf("older corrupt file: got %q, want it untouched", b)
	}
	// Nothing is retried: the next flush has nothing to do.
	rep, err = sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if err != nil || len(rep.Sent)+len(rep.Remaining)+len(rep.Corrupt) != 0 {
		t.Errorf("second flush: got %+v, %v; want nothing", rep, err)
	}
	if rc.count() != 1 {
		t.Errorf("requests: got %d, want 1", rc.count())
	}
}

func TestRetryDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{
		0: 0, 1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 6: 32 * time.Minute,
		7: time.Hour, 8: time.Hour, 100: time.Hour,
	} {
		if got := RetryDelay(n); got != want {
			t.Errorf("RetryDelay(%d): got %v, want %v", n, got, want)
		}
	}
}

// TestFlushBacksOffPerBag: a bag a flush fails to send is tried by the
// automatic flush (Backoff) only once its next try has come, and by a plain
// flush at once; a bag spooled without a note (older pony-report) is due.
func TestFlushBacksOffPerBag(t *testing.T) {
	rc := newRecorder(500, 500, 500, 500) // every try of the first bag
	srv := httptest.NewServer(rc)
	defer srv.Close()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	sp := &Spool{Dir: t.TempDir(), now: func() time.Time { return now }}
	refused := testEnvelope(t, srv.URL)
	refused.Created = now.Add(-2 * time.Hour)
	p, err := sp.Save(refused)
	if err != nil {
		t.Fatal(err)
	}
	flush := func(backoff bool) FlushReport {
		t.Helper()
		rep, err := sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{Backoff: backoff})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := flush(true)
	if len(rep.Remaining) != 1 || rc.count() != 4 {
		t.Fatalf("first flush: got %+v after %d requests, want the bag kept after 4", rep, rc.count())
	}
	want := RetryState{Attempts: 1, NextTry: now.Add(time.Minute)}
	if got := rep.Remaining[0].Retry; got.Attempts != want.Attempts || !got.NextTry.Equal(want.NextTry) {
		t.Errorf("retry state: got %+v, want %+v", got, want)
	}
	list, _ := sp.List()
	if got := list[0].Retry; got.Attempts != 1 || !got.NextTry.Equal(want.NextTry) {
		t.Errorf("listed retry state: got %+v, want %+v (kept in %s%s)", got, want, p, retryExt)
	}

	// A newer bag, spooled by an older pony-report (no note): due at once.
	newer := testEnvelope(t, srv.URL)
	newer.Created = now.Add(-time.Hour)
	if _, err := sp.Save(newer); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	rep = flush(true)
	if len(rep.Sent) != 1 || rep.Sent[0].Envelope.IdempotencyKey != newer.IdempotencyKey {
		t.Errorf("flush with backoff: got %+v, want only the newer bag sent", rep)
	}
	if len(rep.Remaining) != 1 || !errors.Is(rep.Remaining[0].Err, ErrNotDue) {
		t.Errorf("flush with backoff: got %+v, want the refused bag left, not due", rep.Remaining)
	}
	if got := rc.count(); got != 5 {
		t.Errorf("requests: got %d, want 5 (the refused bag not tried)", got)
	}

	// A second failure doubles the wait.
	now = now.Add(time.Minute)
	rc.mu.Lock()
	rc.answers = []int{503}
	rc.mu.Unlock()
	sender := testSender(&noSleep{})
	sender.Retry.Attempts = 1
	if _, err := sp.Flush(context.Background(), sender, FlushOptions{Backoff: true}); err != nil {
		t.Fatal(err)
	}
	list, _ = sp.List()
	if got := list[0].Retry; got.Attempts != 2 || !got.NextTry.Equal(now.Add(2*time.Minute)) {
		t.Errorf("after two failures: got %+v, want 2 attempts, next try %v", got, now.Add(2*time.Minute))
	}

	// `pony-report flush` tries it now.
	rep = flush(false)
	if len(rep.Sent) != 1 || len(rep.Remaining) != 0 {
		t.Errorf("flush without backoff: got %+v, want it sent", rep)
	}
	if _, err := os.Stat(p + retryExt); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("retry note: got %v, want it removed with the bag", err)
	}
	if rc.stored[refused.IdempotencyKey] != 1 {
		t.Errorf("refused bag stored %d times, want once", rc.stored[refused.IdempotencyKey])
	}
}

// TestFlushStopsAtBusyServer: a 503 speaks for the whole server, so its
// other bags wait (and are not counted as failed); a 500 may be about one
// bag, so the next is tried.
func TestFlushStopsAtBusyServer(t *testing.T) {
	for _, tc := range []struct {
		code     int
		requests int
		failed   int // bags with a retry note
	}{
		{503, 1, 1},
		{500, 3, 3},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			rc := newRecorder(tc.code, tc.code, tc.code)
			srv := httptest.NewServer(rc)
			defer srv.Close()
			sp := &Spool{Dir: t.TempDir()}
			for i := 0; i < 3; i++ {
				if _, err := sp.Save(testEnvelope(t, srv.URL)); err != nil {
					t.Fatal(err)
				}
			}
			sender := testSender(&noSleep{})
			sender.Retry.Attempts = 1
			rep, err := sp.Flush(context.Background(), sender, FlushOptions{})
			if err != nil || len(rep.Remaining) != 3 {
				t.Fatalf("got %+v, %v; want 3 remaining", rep, err)
			}
			if rc.count() != tc.requests {
				t.Errorf("requests: got %d, want %d", rc.count(), tc.requests)
			}
			list, _ := sp.List()
			failed := 0
			for _, l := range list {
				if l.Retry.Attempts > 0 {
					failed++
				}
			}
			if failed != tc.failed {
				t.Errorf("bags with a failed try: got %d, want %d", failed, tc.failed)
			}
		})
	}
}

// TestDeliverSpooledDoesNotFlush: when the new bag itself cannot be sent,
// the older ones are not tried: a server in trouble gets no more requests.
func TestDeliverSpooledDoesNotFlush(t *testing.T) {
	rc := newRecorder(503, 503, 503, 503, 503, 503, 503, 503)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sp := &Spool{Dir: t.TempDir()}
	for i := 0; i < 3; i++ {
		if _, err := sp.Save(testEnvelope(t, srv.URL)); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Deliver(context.Background(), testSender(&noSleep{}), sp, testEnvelope(t, srv.URL))
	if err != nil || d.Spooled == "" {
		t.Fatalf("got %+v, %v; want the bag spooled", d, err)
	}
	if got := rc.count(); got != 4 {
		t.Errorf("requests: got %d, want 4 (the new bag's tries only)", got)
	}
	if list, _ := sp.List(); len(list) != 4 {
		t.Errorf("spool: got %d bags, want 4", len(list))
	}
}

// TestFlushExactlyOnce spools three bags while the server is down, brings
// it up, and runs two flushes at once: each key must be stored once and the
// spool must end empty.
func TestFlushExactlyOnce(t *testing.T) {
	addr := deadServer(t)
	sp := &Spool{Dir: t.TempDir()}
	ns := &noSleep{}
	keys := map[string]bool{}
	for range 3 {
		env := testEnvelope(t, addr)
		d, err := Deliver(context.Background(), testSender(ns), sp, env)
		if err != nil || d.Spooled == "" || d.Receipt != nil {
			t.Fatalf("deliver to a dead server: got %+v, %v; want it spooled", d, err)
		}
		var ue *UnreachableError
		if !errors.As(d.Err, &ue) {
			t.Errorf("got reason %v, want an UnreachableError", d.Err)
		}
		keys[env.IdempotencyKey] = true
	}
	rc := newRecorder()
	srv := listenAt(t, strings.TrimPrefix(addr, "http://"), rc)
	defer srv.Close()

	var wg sync.WaitGroup
	reports := make([]FlushReport, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = sp.Flush(context.Background(), testSender(ns), FlushOptions{Wait: true})
		}()
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || len(reports[i].Remaining) != 0 {
			t.Errorf("flush %d: got %+v, %v; want nothing remaining", i, reports[i], errs[i])
		}
	}
	if n := len(reports[0].Sent) + len(reports[1].Sent); n != 3 {
		t.Errorf("sent: got %d in all, want 3", n)
	}
	if len(rc.stored) != 3 {
		t.Errorf("stored: got %d keys, want 3", len(rc.stored))
	}
	for k, n := range rc.stored {
		if !keys[k] || n != 1 {
			t.Errorf("key %s: got stored %d times (spooled: %v), want once", k, n, keys[k])
		}
	}
	if rc.count() != 3 {
		t.Errorf("requests: got %d, want 3", rc.count())
	}
	if list, _ := sp.List(); len(list) != 0 {
		t.Errorf("spool: got %d bags, want none", len(list))
	}
}

// listenAt serves h at addr (a port that was free a moment ago).
func listenAt(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err) // not the code under test
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	return srv
}

func TestDeliverRefusedKeepsMessage(t *testing.T) {
	for _, code := range []int{401, 413, 500} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			rc := newRecorder(code, code, code, code)
			srv := httptest.NewServer(rc)
			defer srv.Close()
			sp := &Spool{Dir: t.TempDir()}
			d, err := Deliver(context.Background(), testSender(&noSleep{}), sp, testEnvelope(t, srv.URL))
			if err != nil || d.Spooled == "" {
				t.Fatalf("got %+v, %v; want the bag spooled", d, err)
			}
			note, err := os.ReadFile(d.Spooled + ".error")
			if err != nil {
				t.Fatalf("got %v, want the server's answer saved beside the bag", err)
			}
			want := fmt.Sprintf("server said %d %s: answer %d (as told)", code, http.StatusText(code), code)
			if !strings.Contains(string(note), want) {
				t.Errorf("note: got %q, want it to hold %q", note, want)
			}
			list, _ := sp.List()
			if len(list) != 1 || list[0].LastError == "" {
				t.Errorf("list: got %+v, want one bag with its last error", list)
			}
		})
	}
}

func TestFlushKeepsBagUntil2xx(t *testing.T) {
	rc := newRecorder(500, 500, 500, 500) // the first flush sees only 500s
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sp := &Spool{Dir: t.TempDir()}
	env := testEnvelope(t, srv.URL)
	p, err := sp.Save(env)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if err != nil || len(rep.Remaining) != 1 || len(rep.Sent) != 0 {
		t.Fatalf("first flush: got %+v, %v; want the bag kept", rep, err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("got %v, want the bag still spooled", err)
	}
	rep, err = sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if err != nil || len(rep.Sent) != 1 || len(rep.Remaining) != 0 {
		t.Fatalf("second flush: got %+v, %v; want it sent", rep, err)
	}
	if rc.stored[env.IdempotencyKey] != 1 {
		t.Errorf("got key stored %d times, want once, with the spooled key", rc.stored[env.IdempotencyKey])
	}
	if _, err := os.Stat(p + ".error"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error note: got %v, want it removed with the bag", err)
	}
}

func TestDeliverFlushesOlderBagsForTheSameServer(t *testing.T) {
	rc := newRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sp := &Spool{Dir: t.TempDir()}
	older := testEnvelope(t, srv.URL)
	other := testEnvelope(t, "http://other.example")
	for _, e := range []*Envelope{older, other} {
		if _, err := sp.Save(e); err != nil {
			t.Fatal(err)
		}
	}
	env := testEnvelope(t, srv.URL)
	d, err := Deliver(context.Background(), testSender(&noSleep{}), sp, env)
	if err != nil || d.Receipt == nil {
		t.Fatalf("got %+v, %v; want it sent", d, err)
	}
	if len(d.Flushed.Sent) != 1 || d.Flushed.Sent[0].Envelope.IdempotencyKey != older.IdempotencyKey {
		t.Errorf("flushed: got %+v, want the older bag for this server", d.Flushed)
	}
	list, _ := sp.List()
	if len(list) != 1 || list[0].Envelope.Server != "http://other.example" {
		t.Errorf("spool: got %+v, want only the other server's bag", list)
	}
}

func TestFlushEmptyAndBusy(t *testing.T) {
	sp := &Spool{Dir: filepath.Join(t.TempDir(), "never-made")}
	rep, err := sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if err != nil || len(rep.Sent)+len(rep.Remaining) != 0 {
		t.Errorf("missing spool: got %+v, %v; want an empty report", rep, err)
	}
	sp = &Spool{Dir: t.TempDir()}
	unlock, err := lockSpool(context.Background(), filepath.Join(sp.Dir, lockName), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if !errors.Is(err, ErrBusy) {
		t.Errorf("locked spool: got %v, want ErrBusy", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = sp.Flush(ctx, testSender(&noSleep{}), FlushOptions{Wait: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("locked spool, cancelled wait: got %v, want context.Canceled", err)
	}
	unlock()
	if _, err = sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{}); err != nil {
		t.Errorf("unlocked spool: got %v, want no error", err)
	}
}
