package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/httpapi"
)

// pythonClient is an old pony-build client's session, in Python 3's own
// xmlrpc.client: it calls every method and prints what came back, with the
// Python types, as JSON.
const pythonClient = `
import json, sys, xmlrpc.client as X

url, tok = sys.argv[1], sys.argv[2]
s = X.ServerProxy(url, allow_none=True, headers=[("Authorization", "Bearer " + tok)])
anon = X.ServerProxy(url, allow_none=True)
out = {}

def fault(f, *args):
    try:
        f(*args)
        return "no fault"
    except X.Fault as e:
        return [e.faultCode, e.faultString]

# What pony_client.py's do() and send() put together: a tuple of tags,
# context keys, and the quirks of its commands (status None, duration -1,
# a list for a command, bytes for output).
info = dict(package="pony-build", arch="linux-x86_64", success=False, duration=3.5,
            host="buildhost", tags=("python2.6", "nightly"), tempdir="/tmp/tmpx", virtualenv=True,
            dependencies=["nose"])
results = [
    dict(status=0, output="running build\n", errout="", command="['python', 'setup.py', 'build']",
         type="build", name="build", duration=1.25),
    dict(status=1, output=X.Binary(b"\x1b[31mFAIL\x1b[0m test_x\n"), errout=None,
         command=["python", "setup.py", "test"], type="test", name="test", duration=-1,
         version_info="abc123 fix"),
    dict(type="file_upload", description="an egg installation file", filesize=-1, errout="", status=None),
]

out["anon_add"] = fault(anon.add_results, info, results)
key, auth = s.add_results(info, results)
out["add"] = [key, auth]
got = s.get_results(key)
out["get"] = got
out["get_types"] = [type(x).__name__ for x in got] + [type(got[0]["time"]).__name__]
out["tagsets"] = s.get_tagsets_for_package("pony-build")
out["tagsets_none"] = s.get_tagsets_for_package("nothing-here")
out["last"] = s.get_last_result_for_tagset("pony-build", out["tagsets"][0])
out["last_none"] = s.get_last_result_for_tagset("pony-build", ["nope", "__package=pony-build", "__arch=a", "__host=h"])
out["check_failed"] = s.check_should_build(dict(package="pony-build", host="buildhost", arch="linux-x86_64", tags=["nightly", "python2.6"]), False)
out["check_new"] = s.check_should_build(dict(package="pony-build", host="other", arch="a", tags=[]), True, 600)
out["check_reserved"] = anon.check_should_build(dict(package="pony-build", host="other", arch="a", tags=[]), False)
out["anon_reserve"] = fault(anon.check_should_build, dict(package="pony-build", host="x", arch="a", tags=[]))
out["no_method"] = fault(s.no_such_method)
out["bad_params"] = fault(s.get_results)
out["not_found"] = fault(s.get_results, "nope")
out["invalid"] = fault(s.add_results, dict(host="h"), [])
out["methods"] = s.system.listMethods()
print(json.dumps(out))
`

func TestXMLRPCWithPythonClient(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 is required in CI: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	f := newFixture(t, fixtureOpts{})
	tok := strings.TrimPrefix(f.token("pony-build", aggregator.ScopeWrite), "Authorization: Bearer ")
	srv := httptest.NewServer(f.h)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", pythonClient, srv.URL+"/xmlrpc", tok)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	var out struct {
		AnonAdd       []any             `json:"anon_add"`
		Add           []string          `json:"add"`
		Get           []json.RawMessage `json:"get"`
		GetTypes      []string          `json:"get_types"`
		Tagsets       [][]string        `json:"tagsets"`
		TagsetsNone   []any             `json:"tagsets_none"`
		Last          []json.RawMessage `json:"last"`
		LastNone      any               `json:"last_none"`
		CheckFailed   []any             `json:"check_failed"`
		CheckNew      []any             `json:"check_new"`
		CheckReserved []any             `json:"check_reserved"`
		AnonReserve   []any             `json:"anon_reserve"`
		NoMethod      []any             `json:"no_method"`
		BadParams     []any             `json:"bad_params"`
		NotFound      []any             `json:"not_found"`
		Invalid       []any             `json:"invalid"`
		Methods       []string          `json:"methods"`
	}
	if err := json.Unmarshal(stdout, &out); err != nil {
		t.Fatalf("python printed %s: %v", stdout, err)
	}

	checkFault := func(name string, got []any, code float64, msg string) {
		t.Helper()
		if len(got) != 2 || got[0] != code || !strings.Contains(got[1].(string), msg) {
			t.Errorf("%s: got %v, want fault %v holding %q", name, got, code, msg)
		}
	}
	checkFault("add_results without a token", out.AnonAdd, 401, "a token is required")
	checkFault("reserving without a token", out.AnonReserve, 401, "a token is required")
	checkFault("unknown method", out.NoMethod, -32601, `unknown method "no_such_method"`)
	checkFault("get_results()", out.BadParams, -32602, "get_results takes (result_key), got 0 parameters")
	checkFault("get_results(nope)", out.NotFound, 404, `no result with key "nope"`)
	checkFault("add_results without package", out.Invalid, 400, "client_info.package: is required")

	// add_results → [result_key, auth_key].
	if len(out.Add) != 2 || out.Add[0] == "" || !strings.HasPrefix(out.Add[1], "auth_") {
		t.Fatalf("add_results: got %q, want [result_key, auth_key]", out.Add)
	}
	key := out.Add[0]

	// get_results → [receipt, client_info, results_list].
	if want := []string{"dict", "dict", "list", "float"}; !reflect.DeepEqual(out.GetTypes, want) {
		t.Errorf("get_results types: got %v, want %v", out.GetTypes, want)
	}
	var receipt struct {
		ResultKey string  `json:"result_key"`
		Time      float64 `json:"time"`
		ClientIP  string  `json:"client_ip"`
	}
	var info map[string]any
	var steps []map[string]any
	if len(out.Get) != 3 {
		t.Fatalf("get_results: got %d items, want 3", len(out.Get))
	}
	mustUnmarshal(t, out.Get[0], &receipt)
	mustUnmarshal(t, out.Get[1], &info)
	mustUnmarshal(t, out.Get[2], &steps)
	if receipt.ResultKey != key || receipt.ClientIP != "127.0.0.1" || time.Since(time.Unix(int64(receipt.Time), 0)) > time.Hour {
		t.Errorf("receipt: got %+v, want key %s, client_ip 127.0.0.1 and a recent time", receipt, key)
	}
	wantInfo := map[string]any{
		"package": "pony-build", "arch": "linux-x86_64", "success": false, "duration": 3.5, "host": "buildhost",
		"tags": []any{"python2.6", "nightly"}, "tempdir": "/tmp/tmpx", "virtualenv": true, "dependencies": []any{"nose"},
	}
	if !reflect.DeepEqual(info, wantInfo) {
		t.Errorf("client_info:\ngot  %v\nwant %v", info, wantInfo)
	}
	if len(steps) != 3 {
		t.Fatalf("results_list: got %d steps, want 3", len(steps))
	}
	wantSteps := []map[string]any{
		{"status": 0.0, "output": "running build\n", "command": "['python', 'setup.py', 'build']", "type": "build", "name": "build", "duration": 1.25},
		// Control characters cannot travel in XML 1.0: they come back as U+FFFD.
		{"status": 1.0, "output": "\uFFFD[31mFAIL\uFFFD[0m test_x\n", "command": "python setup.py test", "type": "test", "name": "test", "version_info": "abc123 fix"},
		{"status": -1.0, "type": "file_upload", "name": "", "description": "an egg installation file", "filesize": -1.0},
	}
	if !reflect.DeepEqual(steps, wantSteps) {
		t.Errorf("results_list:\ngot  %v\nwant %v", steps, wantSteps)
	}
	// The JSON API holds the same bag, the output's control characters
	// intact.
	var bag pony.Bag
	f.get("/api/v1/results/"+key).json(t, &bag)
	if bag.Steps[1].Output != "\x1b[31mFAIL\x1b[0m test_x\n" || string(bag.Steps[1].Extra["version_info"]) != `"abc123 fix"` {
		t.Errorf("stored step: got output %q, version_info %s", bag.Steps[1].Output, bag.Steps[1].Extra["version_info"])
	}

	// Tagsets are pony-build's lists of strings.
	wantTagset := []string{"__arch=linux-x86_64", "__host=buildhost", "__package=pony-build", "nightly", "python2.6"}
	if len(out.Tagsets) != 1 || !reflect.DeepEqual(out.Tagsets[0], wantTagset) {
		t.Errorf("tagsets: got %v, want [%v]", out.Tagsets, wantTagset)
	}
	if out.TagsetsNone == nil || len(out.TagsetsNone) != 0 {
		t.Errorf("tagsets of an unknown package: got %v, want []", out.TagsetsNone)
	}
	if len(out.Last) != 3 || !strings.Contains(string(out.Last[0]), key) {
		t.Errorf("get_last_result_for_tagset: got %s, want the triple of %s", out.Last, key)
	}
	if out.LastNone != 0.0 {
		t.Errorf("get_last_result_for_tagset of an unknown tagset: got %v, want 0", out.LastNone)
	}

	// check_should_build → [flag, reason].
	for _, tc := range []struct {
		name string
		got  []any
		flag bool
		msg  string
	}{
		{"last failed", out.CheckFailed, true, "last build was unsuccessful; go!"},
		{"none yet", out.CheckNew, true, "no build recorded for __arch=a, __host=other, __package=pony-build; build!"},
		{"reserved", out.CheckReserved, false, "may be in build now"},
	} {
		if len(tc.got) != 2 || tc.got[0] != tc.flag || tc.got[1] != tc.msg {
			t.Errorf("check_should_build %s: got %v, want [%v %q]", tc.name, tc.got, tc.flag, tc.msg)
		}
	}
	if want := []string{"add_results", "check_should_build", "get_last_result_for_tagset", "get_results", "get_tagsets_for_package", "system.listMethods"}; !reflect.DeepEqual(out.Methods, want) {
		t.Errorf("system.listMethods: got %v, want %v", out.Methods, want)
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// TestXMLRPCHTTP covers what a Python client cannot easily send: a body
// over the cap, a malformed call, a malformed Authorization header, GET.
func TestXMLRPCHTTP(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	small := newFixture(t, fixtureOpts{http: httpapi.Options{MaxBody: 1024}})
	tests := []struct {
		name   string
		fx     *fixture
		body   string
		header []string
		want   string
	}{
		{"malformed XML", f, "<methodCall><methodName>x", nil, "<int>-32700</int>"},
		{"not a call", f, "<methodResponse/>", nil, "<int>-32600</int>"},
		{"malformed header", f, "<methodCall><methodName>get_results</methodName></methodCall>", []string{"Authorization: token abc"}, "<int>401</int>"},
		{"over the cap", small, "<methodCall><methodName>x</methodName><params><param><value>" + strings.Repeat("x", 2048) + "</value></param></params></methodCall>", nil, "over the limit of 1024 bytes (1 KiB)"},
		{"too deep", f, "<methodCall><methodName>m</methodName><params><param>" + strings.Repeat("<value><array><data>", 40) + strings.Repeat("</data></array></value>", 40) + "</param></params></methodCall>", nil, "<int>413</int>"},
	}
	for _, tc := range tests {
		r := tc.fx.post("/xmlrpc", []byte(tc.body), tc.header...)
		if r.Code != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
			t.Errorf("%s: got %d %q, want 200 text/xml", tc.name, r.Code, r.Header.Get("Content-Type"))
		}
		if !strings.Contains(string(r.Body), "<fault>") || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%s: got %s, want a fault holding %q", tc.name, r.Body, tc.want)
		}
	}
	if r := f.get("/xmlrpc"); r.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /xmlrpc: got %d, want 405", r.Code)
	}
}
