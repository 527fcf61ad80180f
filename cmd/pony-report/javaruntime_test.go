package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestRuntimeFromSurefireReport: a Surefire report names the Java its tests
// ran on (java.version); with no --runtime, that is the bag's runtime, for
// parse and send as for run, where it also wins in "runtimes" over the java
// on PATH.
func TestRuntimeFromSurefireReport(t *testing.T) {
	t.Parallel()
	src := absTestdata(t, "../../../reporters/testdata/junit/surefire-reruns.xml")

	r := runBin(t, invocation{args: []string{"parse", "--package", "j", src}})
	if r.code != 1 {
		t.Fatalf("parse: exit %d, want 1 (the report has failures)\n%s", r.code, r.stderr)
	}
	ci := decodeBag(t, r.stdout)["client_info"].(map[string]any)
	if ci["runtime"] != "java17.0.9" {
		t.Errorf("parse: runtime %v, want java17.0.9", ci["runtime"])
	}

	r = runBin(t, invocation{args: []string{"parse", "--package", "j", "--runtime", "temurin-17", src}})
	if ci := decodeBag(t, r.stdout)["client_info"].(map[string]any); ci["runtime"] != "temurin-17" {
		t.Errorf("parse --runtime: runtime %v, want temurin-17", ci["runtime"])
	}

	// run: a command pony-report cannot tell the runtime of writes the report.
	dir := t.TempDir()
	r = runBin(t, invocation{dir: dir, args: []string{"run", "--dry-run", "--package", "j", "--progress", "never",
		"--junit", "out/*.xml", "--", "sh", "-c", "mkdir -p out && cp '" + src + "' " + filepath.Join("out", "TEST-x.xml")}})
	if r.code != 1 {
		t.Fatalf("run: exit %d, want 1 (the report has failures)\n%s", r.code, r.stderr)
	}
	bag, _ := dryBag(t, r.stdout)
	if bag.ClientInfo.Runtime != "java17.0.9" {
		t.Errorf("run: runtime %q, want java17.0.9", bag.ClientInfo.Runtime)
	}
	var runtimes map[string]string
	if err := json.Unmarshal(bag.ClientInfo.Extra["runtimes"], &runtimes); err != nil {
		t.Fatalf("run: runtimes %s: %v", bag.ClientInfo.Extra["runtimes"], err)
	}
	if runtimes["java"] != "java17.0.9" {
		t.Errorf("run: runtimes %v, want java: java17.0.9 (the report's, not PATH's)", runtimes)
	}
	if len(bag.Steps) != 1 || bag.Steps[0].Format != "junit" || string(bag.Steps[0].Extra["runtime"]) != `"java17.0.9"` {
		t.Errorf("run: steps %+v, want one junit step naming java17.0.9", bag.Steps)
	}
}
