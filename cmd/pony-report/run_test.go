package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunInProcess drives run directly, with a fake environment.
func TestRunInProcess(t *testing.T) {
	pass, err := os.ReadFile("testdata/pass.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		stdin      []byte
		env        map[string]string
		code       int
		wantOut    string
		wantStderr string
	}{
		{"parse from stdin", []string{"parse", "--package", "p"}, pass, nil, 0, `"name": "-"`, "5 tests: 4 pass, 1 skip (gotest, -)"},
		{"named format from stdin", []string{"parse", "--format", "gotest", "-"}, pass, map[string]string{"PONY_PACKAGE": "p"}, 0, `"package": "p"`, ""},
		{"format auto detects", []string{"parse", "--format", "auto"}, pass, nil, 0, `"format": "gotest"`, ""},
		{"empty stdin", []string{"parse"}, nil, nil, 2, "", "-: unrecognised report format: the input is empty"},
		{"version", []string{"--version"}, nil, nil, 0, "pony-report dev", ""},
		{"flush of an empty spool", []string{"flush"}, nil, nil, 0, "", "nothing spooled in"},
		{"flush with a bad server", []string{"flush", "--server", "ftp://x"}, nil, nil, 2, "", "want an http:// or https:// URL"},
		{"tags from env and flags", []string{"parse", "--tag", "b", "-"}, pass, map[string]string{"PONY_TAGS": "a,,  c "}, 0,
			"\"tags\": [\n      \"a\",\n      \"c\",\n      \"b\"\n    ]", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"PONY_SPOOL_DIR": filepath.Join(t.TempDir(), "spool")}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, bytes.NewReader(tc.stdin), &stdout, &stderr, func(k string) string { return env[k] })
			if code != tc.code || !strings.Contains(stdout.String(), tc.wantOut) || !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("got exit %d, stdout %.300q, stderr %q; want exit %d, stdout holding %q, stderr holding %q",
					code, stdout.String(), stderr.String(), tc.code, tc.wantOut, tc.wantStderr)
			}
		})
	}
}
