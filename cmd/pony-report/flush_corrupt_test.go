package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlushReportsCorruptFiles(t *testing.T) {
	spool := t.TempDir()
	bad := filepath.Join(spool, "20260101T000000Z-cut.json")
	if err := os.WriteFile(bad, []byte(`{"idempotency_key": "k", "server": "http://x", "bag": {"client_i`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PONY_SPOOL_DIR": spool}
	flush := func() (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"flush"}, nil, &stdout, &stderr, func(k string) string { return env[k] })
		return code, stderr.String()
	}
	code, stderr := flush()
	aside := filepath.Join(spool, "corrupt", filepath.Base(bad))
	for _, want := range []string{bad + ": not a spooled bag: unexpected end of JSON input", "moved aside to " + aside} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr: got %q, want it to hold %q", stderr, want)
		}
	}
	if code != exitFail {
		t.Errorf("exit: got %d, want %d (a bag may be lost)", code, exitFail)
	}
	if _, err := os.Stat(aside); err != nil {
		t.Errorf("got %v, want the file kept in corrupt/", err)
	}
	if code, stderr := flush(); code != exitOK || !strings.Contains(stderr, "nothing spooled") {
		t.Errorf("second flush: got exit %d, %q; want 0 and nothing spooled", code, stderr)
	}
}
