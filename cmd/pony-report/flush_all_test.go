package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/client"
)

// TestFlushOtherServersAndAll: a flush for a server says how many bags are
// spooled for other servers, and which (another spelling of the same
// server among them), instead of "nothing spooled"; --all sends them all
// to that server, each once with its spooled key.
func TestFlushOtherServersAndAll(t *testing.T) {
	srv := newServer(t, 0, "")
	spool := t.TempDir()
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	moved := "http://" + deadAddr(t)
	sp := &client.Spool{Dir: spool}
	keys := map[string]bool{}
	for _, server := range []string{localhost, moved, moved} {
		env, err := client.NewEnvelope(&pony.Bag{ClientInfo: pony.ClientInfo{Package: "pony"}}, server)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sp.Save(env); err != nil {
			t.Fatal(err)
		}
		keys[env.IdempotencyKey] = true
	}
	bad := filepath.Join(spool, "20200101T000000Z-cut.json")
	if err := os.WriteFile(bad, []byte(`{"idempotency_key": "k", "server": "`+moved+`", "bag": {"client_i`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PONY_SPOOL_DIR": spool, "PONY_RETRIES": "1"}
	flush := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"flush"}, args...), nil, &stdout, &stderr, func(k string) string { return env[k] })
		return code, stderr.String()
	}

	code, stderr := flush("--server", srv.URL)
	want := []string{
		"nothing spooled for " + srv.URL + " in " + spool,
		"3 bags spooled for other servers than " + srv.URL + ", left alone: ",
		localhost + " (1)", moved + " (2)",
		"pony-report flush --all --server " + srv.URL,
		"moved aside to " + filepath.Join(spool, "corrupt", filepath.Base(bad)),
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("flush --server: got stderr %q, want %q", stderr, w)
		}
	}
	if strings.Contains(stderr, "nothing spooled in") || code != exitFail || srv.count() != 0 {
		t.Errorf("flush --server: got exit %d after %d requests, %q; want 1 (a corrupt file), nothing sent, no \"nothing spooled in\"", code, srv.count(), stderr)
	}
	// The same, PONY_SERVER naming the server, and no corrupt file left.
	env["PONY_SERVER"] = srv.URL
	if code, stderr := flush(); code != exitOK || !strings.Contains(stderr, "3 bags spooled for other servers") {
		t.Errorf("flush with PONY_SERVER: got exit %d, %q; want 0 and the 3 bags named", code, stderr)
	}

	code, stderr = flush("--all")
	if code != exitOK || !strings.Contains(stderr, "sent 3 spooled bags from "+spool) || strings.Contains(stderr, "other servers") {
		t.Errorf("flush --all: got exit %d, %q; want 0 and 3 sent", code, stderr)
	}
	if len(srv.stored) != 3 {
		t.Errorf("stored: got %d bags, want 3", len(srv.stored))
	}
	for k, n := range srv.stored {
		if !keys[k] || n != 1 {
			t.Errorf("key %s: stored %d times (spooled key: %v), want once, with the spooled key", k, n, keys[k])
		}
	}
	if left := spoolFiles(t, spool, ".json"); len(left) != 0 {
		t.Errorf("spool: got %q, want empty", left)
	}
	if code, stderr := flush("--all"); code != exitOK || !strings.Contains(stderr, "nothing spooled in "+spool) {
		t.Errorf("second flush --all: got exit %d, %q; want 0, nothing spooled", code, stderr)
	}

	delete(env, "PONY_SERVER")
	if code, stderr := flush("--all"); code != exitUsage || !strings.Contains(stderr, "--all sends every spooled bag to one server: name it with --server URL") {
		t.Errorf("flush --all without a server: got exit %d, %q; want 2 and why", code, stderr)
	}
}
