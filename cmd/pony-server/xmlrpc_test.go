package main

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// xmlrpcClient is an old-style pony-build client in Python, using Python's
// own xmlrpc.client: it reports a build the way pony_client.py did
// (add_results with its client_info and results list), then calls every
// other method and prints what came back as JSON.
const xmlrpcClient = `
import json, sys, xmlrpc.client

url, pkg, known_key, tagset = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
s = xmlrpc.client.ServerProxy(url + "/xmlrpc", allow_none=True)
out = {}

# What pony_client.do() and send() put together in 2010.
client_info = dict(package=pkg + "-old", arch="linux-i686", success=False,
                   host="oldbox", tags=("python2.6", "old"), tempdir="/tmp/pony-abc")
results = [
    dict(type="checkout", name="git checkout", command="git clone git://example/repo.git",
         status=0, output="Cloning into repo...", errout="", start_time=1262304000.0, end_time=1262304002.5,
         version_type="git", version_info="0123abc"),
    dict(type="build", name="python setup.py build", command="python setup.py build",
         status=0, output="running build", errout="", start_time=1262304002.5, end_time=1262304010.0),
    dict(type="test", name="run tests", command="nosetests", status=1,
         output="FAILED (failures=2)", errout="AssertionError", start_time=1262304010.0, end_time=1262304020.0),
]
key, auth_key = s.add_results(client_info, results)
out["add_results"] = [key, auth_key]
out["get_results"] = s.get_results(key)
out["get_results_known"] = s.get_results(known_key)
out["get_tagsets_for_package"] = s.get_tagsets_for_package(pkg)
out["get_tagsets_old"] = s.get_tagsets_for_package(pkg + "-old")
out["get_last_result_for_tagset"] = s.get_last_result_for_tagset(pkg, tagset)
out["get_last_result_none"] = s.get_last_result_for_tagset(pkg, ["__package=" + pkg, "__host=nowhere", "__arch=x"])
check = dict(package=pkg + "-old", host="oldbox", arch="linux-i686", tags=["old", "python2.6"])
out["check_should_build_failed"] = s.check_should_build(check)           # reserves the build
out["check_should_build_reserved"] = s.check_should_build(check, True, 0)  # someone is building
out["check_should_build_new"] = s.check_should_build(dict(package=pkg + "-old", host="newbox", arch="linux-i686", tags=[]), False)
try:
    s.get_results("no-such-key")
    out["fault"] = None
except xmlrpc.client.Fault as f:
    out["fault"] = f.faultString
json.dump(out, sys.stdout, default=str)
`

// xmlrpcE2E runs the Python client against the server and checks each
// answer against what the JSON API said.
func xmlrpcE2E(t *testing.T, base, pkg, knownKey string, tapEnv aggregator.Env, tapKey string) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatal("python3 is needed for the XML-RPC test (scripts/test.sh installs it)")
	}
	ts, _ := json.Marshal(tapEnv.Tagset())
	cmd := exec.Command("python3", "-c", xmlrpcClient, base, pkg, knownKey, string(ts))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 xmlrpc.client: %v\n%s", err, stderr.String())
	}
	var got struct {
		AddResults          []string          `json:"add_results"`
		GetResults          []json.RawMessage `json:"get_results"`
		GetResultsKnown     []json.RawMessage `json:"get_results_known"`
		Tagsets             [][]string        `json:"get_tagsets_for_package"`
		TagsetsOld          [][]string        `json:"get_tagsets_old"`
		LastForTagset       []json.RawMessage `json:"get_last_result_for_tagset"`
		LastNone            json.RawMessage   `json:"get_last_result_none"`
		ShouldBuildFailed   []any             `json:"check_should_build_failed"`
		ShouldBuildReserved []any             `json:"check_should_build_reserved"`
		ShouldBuildNew      []any             `json:"check_should_build_new"`
		Fault               *string           `json:"fault"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("python3 printed %s: %v", out, err)
	}

	// add_results → (result_key, auth_key), and the bag is stored whole.
	if len(got.AddResults) != 2 || got.AddResults[0] == "" || got.AddResults[1] == "" {
		t.Fatalf("add_results: got %q, want (result_key, auth_key)", got.AddResults)
	}
	key := got.AddResults[0]
	var bag pony.Bag
	getJSON(t, base+"/api/v1/results/"+key, "", 200, &bag)
	ci := bag.ClientInfo
	if ci.Package != pkg+"-old" || ci.Host != "oldbox" || ci.Arch != "linux-i686" || !slices.Equal(ci.Tags, []string{"python2.6", "old"}) || ci.Success == nil || *ci.Success || string(ci.Extra["tempdir"]) != `"/tmp/pony-abc"` {
		t.Errorf("add_results stored client_info %+v (extra %s), want the old client's", ci, ci.Extra)
	}
	if len(bag.Steps) != 3 || bag.Steps[2].Status != 1 || bag.Steps[0].Output != "Cloning into repo..." || string(bag.Steps[0].Extra["version_info"]) != `"0123abc"` {
		t.Errorf("add_results stored steps %+v, want the 3 old-style steps with their extra keys", bag.Steps)
	}

	// get_results → (receipt, client_info, results_list).
	for _, tc := range []struct {
		name string
		raw  []json.RawMessage
		key  string
	}{{"get_results", got.GetResults, key}, {"get_results of a pony-report bag", got.GetResultsKnown, knownKey}} {
		if len(tc.raw) != 3 {
			t.Errorf("%s: got %d values, want (receipt, client_info, results_list)", tc.name, len(tc.raw))
			continue
		}
		var receipt struct {
			Key string `json:"result_key"`
		}
		var ci map[string]any
		var steps []map[string]any
		json.Unmarshal(tc.raw[0], &receipt)
		json.Unmarshal(tc.raw[1], &ci)
		json.Unmarshal(tc.raw[2], &steps)
		if receipt.Key != tc.key || ci["package"] == nil || len(steps) == 0 {
			t.Errorf("%s: got receipt %s, client_info %v, %d steps; want key %s, a package and its steps", tc.name, tc.raw[0], ci, len(steps), tc.key)
		}
	}

	// get_tagsets_for_package → the tagsets, as pony-build wrote them.
	want := tapEnv.Tagset()
	if !slices.ContainsFunc(got.Tagsets, func(ts []string) bool { return sameSet(ts, want) }) {
		t.Errorf("get_tagsets_for_package: got %q, want %q among them", got.Tagsets, want)
	}
	oldWant := []string{"__arch=linux-i686", "__host=oldbox", "__package=" + pkg + "-old", "old", "python2.6"}
	if len(got.TagsetsOld) != 1 || !sameSet(got.TagsetsOld[0], oldWant) {
		t.Errorf("get_tagsets_for_package(old): got %q, want [%q]", got.TagsetsOld, oldWant)
	}

	// get_last_result_for_tagset → (receipt, client_info, results_list), or 0.
	var receipt struct {
		Key string `json:"result_key"`
	}
	if len(got.LastForTagset) != 3 || json.Unmarshal(got.LastForTagset[0], &receipt) != nil || receipt.Key != tapKey {
		t.Errorf("get_last_result_for_tagset: got %s, want the TAP run %s", got.LastForTagset, tapKey)
	}
	if string(got.LastNone) != "0" {
		t.Errorf("get_last_result_for_tagset of an unknown tagset: got %s, want 0 (pony-build's answer)", got.LastNone)
	}

	// check_should_build → (flag, reason), reserving the build by default.
	for _, tc := range []struct {
		name  string
		got   []any
		build bool
		why   string
	}{
		{"last failed", got.ShouldBuildFailed, true, "unsuccessful"},
		{"reserved by the previous call", got.ShouldBuildReserved, false, "may be in build"},
		{"never built", got.ShouldBuildNew, true, "no build"},
	} {
		if len(tc.got) != 2 || tc.got[0] != tc.build || !strings.Contains(strings.ToLower(tc.got[1].(string)), tc.why) {
			t.Errorf("check_should_build, %s: got %v, want (%v, …%s…)", tc.name, tc.got, tc.build, tc.why)
		}
	}
	if got.Fault == nil || !strings.Contains(*got.Fault, "no-such-key") {
		t.Errorf("get_results of an unknown key: got fault %v, want an XML-RPC fault naming the key", got.Fault)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
