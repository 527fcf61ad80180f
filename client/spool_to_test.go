package client

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlushToAnotherServer: bags spooled for a server that moved (or for
// another spelling of its address) are left alone, and listed, by a flush
// limited to the new address; a flush To it sends every one of them there,
// each once with its own key, with the backoff notes and the corrupt-file
// handling of any flush.
func TestFlushToAnotherServer(t *testing.T) {
	rc := newRecorder()
	srv := httptest.NewServer(rc)
	defer srv.Close()
	moved := deadServer(t)
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) // the same server, spelled otherwise
	sp := &Spool{Dir: t.TempDir()}
	var envs []*Envelope
	for _, server := range []string{moved, moved, localhost} {
		env := testEnvelope(t, server)
		if _, err := sp.Save(env); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	bad := filepath.Join(sp.Dir, "20200101T000000Z-bad.json")
	if err := os.WriteFile(bad, []byte(`{"idempotency_key": "k"`), 0o600); err != nil {
		t.Fatal(err)
	}
	flush := func(opts FlushOptions) FlushReport {
		t.Helper()
		sender := testSender(&noSleep{})
		sender.Retry.Attempts = 1
		rep, err := sp.Flush(context.Background(), sender, opts)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}

	rep := flush(FlushOptions{Server: srv.URL})
	if len(rep.Sent) != 0 || len(rep.Remaining) != 0 || len(rep.Elsewhere) != 3 || rc.count() != 0 {
		t.Fatalf("flush for %s: got %d sent, %d remaining, %d elsewhere after %d requests; want 3 elsewhere, none sent",
			srv.URL, len(rep.Sent), len(rep.Remaining), len(rep.Elsewhere), rc.count())
	}
	if len(rep.Corrupt) != 1 || rep.Corrupt[0].MovedTo == "" {
		t.Errorf("corrupt: got %+v, want the bad file moved aside", rep.Corrupt)
	}
	want := []ServerCount{{moved, 2}, {localhost, 1}}
	if moved > localhost {
		want[0], want[1] = want[1], want[0]
	}
	if got := SpooledFor(rep.Elsewhere); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("SpooledFor: got %+v, want %+v", got, want)
	}

	// To a server that does not answer either: every bag stays, spooled
	// for the server it was meant for, with a backoff note on the one tried.
	dead := deadServer(t)
	rep = flush(FlushOptions{To: dead})
	if len(rep.Remaining) != 3 || len(rep.Sent) != 0 {
		t.Fatalf("flush to a dead server: got %+v, want the 3 bags kept", rep)
	}
	var ue *UnreachableError
	if !errors.As(rep.Remaining[0].Err, &ue) || ue.Server != dead {
		t.Errorf("reason: got %v, want %s unreachable", rep.Remaining[0].Err, dead)
	}
	list, _ := sp.List()
	tried := 0
	for _, l := range list {
		if l.Envelope.Server == dead {
			t.Errorf("%s: got it respooled for %s, want it kept for the server it was spooled for", l.Path, dead)
		}
		if l.Retry.Attempts > 0 {
			tried++
		}
	}
	if tried != 1 {
		t.Errorf("bags with a failed try: got %d, want 1 (the others wait: the server is down)", tried)
	}

	rep = flush(FlushOptions{To: srv.URL, Server: "http://ignored.example"})
	if len(rep.Sent) != 3 || len(rep.Remaining) != 0 || len(rep.Elsewhere) != 0 {
		t.Fatalf("flush to %s: got %+v, want the 3 bags sent", srv.URL, rep)
	}
	for _, env := range envs {
		if n := rc.stored[env.IdempotencyKey]; n != 1 {
			t.Errorf("key %s: stored %d times, want once, with the spooled key", env.IdempotencyKey, n)
		}
	}
	if list, _ := sp.List(); len(list) != 0 {
		t.Errorf("spool: got %d bags, want none", len(list))
	}
	if rep = flush(FlushOptions{To: srv.URL}); len(rep.Sent)+len(rep.Remaining) != 0 || len(rc.stored) != 3 {
		t.Errorf("second flush: got %+v and %d keys stored, want nothing sent again", rep, len(rc.stored))
	}
}

func TestSameServer(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"http://pony.example", "http://pony.example/", true},
		{"HTTP://Pony.Example:80/", "http://pony.example", true},
		{"https://pony.example:443", "https://pony.example", true},
		{"http://[::1]:80", "http://[::1]", true},
		{"http://pony.example:8080", "http://pony.example", false},
		{"https://pony.example:80", "https://pony.example", false},
		{"http://127.0.0.1:8080", "http://localhost:8080", false},
		{"http://pony.example/a", "http://pony.example/b", false},
	} {
		if got := sameServer(tc.a, tc.b); got != tc.want {
			t.Errorf("sameServer(%q, %q): got %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
