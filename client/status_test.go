package client

import (
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

func TestJudge(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	st := &PackageStatus{
		Package: "demo",
		Tagsets: []StatusTagset{
			{Env: StatusEnv{Host: "a", Arch: "linux-amd64", Runtime: "go1.23", Tags: []string{"nightly"}},
				Latest: StatusResult{Key: "k1", Received: now.Add(-90 * time.Minute), Commit: "0123456789abcdef", Branch: "main", Success: true,
					Totals: pony.Totals{Tests: 10, Pass: 9, Skip: 1, Flaky: 2}}},
			{Env: StatusEnv{Host: "b", Arch: "darwin-arm64"}, Stale: true,
				Latest: StatusResult{Key: "k2", Received: now.Add(-72 * time.Hour), Totals: pony.Totals{Tests: 4, Pass: 2, Fail: 1, Error: 1}}},
			{Env: StatusEnv{Host: "c", Arch: "linux-amd64"},
				Latest: StatusResult{Key: "k3", Received: now.Add(-30 * time.Second), Success: true, Incomplete: true, Totals: pony.Totals{Tests: 3, Pass: 3}}},
		},
		Expected: []StatusExpected{
			{Name: "windows", Match: StatusEnv{Host: "w"}, Missing: true, Reason: "never reported"},
			{Match: StatusEnv{Host: "a"}, Missing: false},
			{Match: StatusEnv{Arch: "linux-arm64"}, Missing: true, LastSeen: now.Add(-50 * time.Hour)},
		},
	}
	for _, tc := range []struct {
		name                   string
		f                      EnvFilter
		envs, failing, missing int
		ok                     bool
		lines                  []string
	}{
		{"all", EnvFilter{}, 3, 2, 2, false, []string{
			"✓ pass\ta linux-amd64 go1.23 [nightly]\t10 tests, 2 flaky\treceived 1h ago\t0123456789 main\thttp://s/r/k1",
			"✗ FAIL\tb darwin-arm64\t2 of 4 tests failed\treceived 3d ago (stale)\thttp://s/r/k2",
			"✗ INCOMPLETE\tc linux-amd64\t3 tests\treceived 30s ago\thttp://s/r/k3",
			"? MISSING\twindows\texpected\tnever reported",
			"? MISSING\tlinux-arm64\texpected\tlast seen 2d ago",
		}},
		{"one host", EnvFilter{Host: "a"}, 1, 0, 0, true, nil},
		{"by tag", EnvFilter{Tags: []string{"nightly"}}, 1, 0, 0, true, nil},
		{"by arch", EnvFilter{Arch: "linux-amd64"}, 2, 1, 0, false, nil},
		{"expected by host", EnvFilter{Host: "w"}, 0, 0, 1, false, []string{"? MISSING\twindows\texpected\tnever reported"}},
		{"nothing", EnvFilter{Runtime: "go1.9"}, 0, 0, 0, false, nil},
	} {
		v := Judge(st, tc.f, "http://s/", now)
		if v.Envs != tc.envs || v.Failing != tc.failing || v.Missing != tc.missing || v.OK() != tc.ok {
			t.Errorf("%s: got %d envs, %d failing, %d missing, ok %v; want %d, %d, %d, %v",
				tc.name, v.Envs, v.Failing, v.Missing, v.OK(), tc.envs, tc.failing, tc.missing, tc.ok)
		}
		if tc.lines != nil && strings.Join(v.Lines, "\n") != strings.Join(tc.lines, "\n") {
			t.Errorf("%s: got lines\n%s\nwant\n%s", tc.name, strings.Join(v.Lines, "\n"), strings.Join(tc.lines, "\n"))
		}
	}
}
