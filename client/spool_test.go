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

func TestSpoolListKeepsDamagedFiles(t *testing.T) {
	sp := &Spool{Dir: t.TempDir()}
	for name, body := range map[string]string{
		"20260101T000000Z-bad.json":   `{"idempotency_key": "k", "server": "http://x", "bag": {`,
		"20260101T000001Z-nokey.json": `{"server": "http://x", "bag": {}}`,
	} {
		if err := os.WriteFile(filepath.Join(sp.Dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	list, err := sp.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Err == nil || list[1].Err == nil {
		t.Fatalf("got %+v, want two entries with errors", list)
	}
	rep, err := sp.Flush(context.Background(), testSender(&noSleep{}), FlushOptions{})
	if err != nil || len(rep.Remaining) != 2 || len(rep.Sent) != 0 {
		t.Errorf("flush: got %+v, %v; want both left in place", rep, err)
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
