package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/httpapi"
)

func TestPostBagRoundTrip(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	bag := sampleBag("gin", "ci-linux-3")
	rec := f.postBag(bag)
	if rec.ResultKey == "" || rec.ClientIP != "192.0.2.7" {
		t.Errorf("receipt: got %+v, want a key and client_ip 192.0.2.7", rec)
	}
	r := f.get("/api/v1/results/" + rec.ResultKey)
	if r.Code != http.StatusOK {
		t.Fatalf("GET result: got %d %s, want 200", r.Code, r.Body)
	}
	var got pony.Bag
	r.json(t, &got)
	if got.Receipt == nil || got.Receipt.ResultKey != rec.ResultKey {
		t.Errorf("receipt: got %+v, want key %s", got.Receipt, rec.ResultKey)
	}
	for _, k := range []string{"ci_job", "owner"} {
		if g, w := compactJSON(t, got.ClientInfo.Extra[k]), compactJSON(t, bag.ClientInfo.Extra[k]); g != w {
			t.Errorf("client_info.%s: got %s, want %s", k, g, w)
		}
	}
	if len(got.Steps) != 1 || len(got.Steps[0].Tests) != 2 {
		t.Fatalf("steps: got %+v, want 1 step with 2 tests", got.Steps)
	}
	if g := string(got.Steps[0].Extra["shard"]); g != "3" {
		t.Errorf("step extra shard: got %q, want 3", g)
	}
	if g := got.Steps[0].Tests[1]; g.Status != pony.StatusFail || g.Message != "want 1, got 2" {
		t.Errorf("failing test: got %+v", g)
	}
	if loc := f.post("/api/v1/results", mustJSON(t, bag)).Header.Get("Location"); !strings.HasPrefix(loc, "/api/v1/results/") {
		t.Errorf("Location: got %q, want /api/v1/results/KEY", loc)
	}
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %s: %v", b, err)
	}
	return buf.String()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIdempotentReplay(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	body := mustJSON(t, sampleBag("gin", "h1"))
	first := f.post("/api/v1/results", body, "Idempotency-Key: k-123")
	if first.Code != http.StatusCreated || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: got %d (replayed %q) %s, want 201", first.Code, first.Header.Get("Idempotent-Replayed"), first.Body)
	}
	second := f.post("/api/v1/results", body, "Idempotency-Key: k-123")
	if second.Code != http.StatusOK || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: got %d (replayed %q) %s, want 200 and Idempotent-Replayed: true", second.Code, second.Header.Get("Idempotent-Replayed"), second.Body)
	}
	if !bytes.Equal(first.Body, second.Body) {
		t.Errorf("retry body: got %s, want %s", second.Body, first.Body)
	}
	var page aggregator.ResultPage
	f.get("/api/v1/packages/gin/results").json(t, &page)
	if len(page.Results) != 1 {
		t.Errorf("stored results: got %d, want 1", len(page.Results))
	}
	// Another key stores another result.
	if r := f.post("/api/v1/results", body, "Idempotency-Key: k-456"); r.Code != http.StatusCreated {
		t.Errorf("new key: got %d, want 201", r.Code)
	}
}

// repoRoot walks up to go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

// TestRawUploads posts every real report of reporters/testdata as curl
// would (--data-binary with client_info in the query), then reads the
// result back and compares its tests with the golden file's.
func TestRawUploads(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	root := repoRoot(t)
	n := 0
	for _, format := range []string{"gotest", "junit", "tap"} {
		files, err := filepath.Glob(filepath.Join(root, "reporters", "testdata", format, "*"))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range files {
			base := filepath.Base(in)
			if fi, err := os.Stat(in); err != nil || fi.IsDir() || strings.HasSuffix(base, ".golden.json") || strings.HasSuffix(base, ".sh") || strings.HasSuffix(base, ".md") {
				continue
			}
			n++
			t.Run(format+"/"+base, func(t *testing.T) {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				var golden struct {
					Error string `json:"error"`
					Bag   struct {
						Steps []pony.Step `json:"results_list"`
					} `json:"bag"`
					Step pony.Step `json:"-"`
				}
				gb, err := os.ReadFile(in + ".golden.json")
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(gb, &golden); err != nil {
					t.Fatal(err)
				}
				if len(golden.Bag.Steps) != 1 {
					t.Fatalf("%s.golden.json: want a bag of one step", in)
				}
				golden.Step = golden.Bag.Steps[0]
				// The golden file was parsed as a named file, whose TAP
				// tests take it as their suite; an upload is a stream
				// and gives none.
				for i := range golden.Step.Tests {
					if format == "tap" && golden.Step.Tests[i].Suite == base {
						golden.Step.Tests[i].Suite = ""
					}
				}
				q := url.Values{"package": {"raw-" + format}, "host": {"ci-1"}, "arch": {"linux-amd64"}, "tag": {"nightly", "py3.11"}, "set.job": {base}}
				r := f.post("/api/v1/results?"+q.Encode(), data, "Content-Type: application/x-www-form-urlencoded")
				if r.Code != http.StatusCreated {
					t.Fatalf("POST: got %d %s, want 201", r.Code, r.Body)
				}
				var ans struct {
					Receipt  pony.Receipt `json:"receipt"`
					Warnings []string     `json:"warnings"`
				}
				r.json(t, &ans)
				wantWarn := strings.ReplaceAll(golden.Error, base, "upload")
				switch {
				case golden.Error == "" && len(ans.Warnings) > 0:
					t.Errorf("warnings: got %q, want none", ans.Warnings)
				case golden.Error != "" && (len(ans.Warnings) != 1 || ans.Warnings[0] != wantWarn):
					t.Errorf("warnings: got %q, want [%q]", ans.Warnings, wantWarn)
				}
				var bag pony.Bag
				f.get("/api/v1/results/"+ans.Receipt.ResultKey).json(t, &bag)
				if bag.ClientInfo.Package != "raw-"+format || bag.ClientInfo.Host != "ci-1" || strings.Join(bag.ClientInfo.Tags, ",") != "nightly,py3.11" {
					t.Errorf("client_info: got %+v", bag.ClientInfo)
				}
				if g := string(bag.ClientInfo.Extra["job"]); g != fmt.Sprintf("%q", base) {
					t.Errorf("client_info.job: got %s, want %q", g, base)
				}
				if len(bag.Steps) != 1 {
					t.Fatalf("steps: got %d, want 1", len(bag.Steps))
				}
				st := bag.Steps[0]
				if st.Format != format || st.Name != format {
					t.Errorf("step format and name: got %q %q, want %q", st.Format, st.Name, format)
				}
				if st.Incomplete != (golden.Step.Incomplete || golden.Error != "") {
					t.Errorf("incomplete: got %v, want %v", st.Incomplete, golden.Step.Incomplete || golden.Error != "")
				}
				if g, w := verdicts(st.Tests), verdicts(golden.Step.Tests); g != w {
					t.Errorf("tests:\ngot  %s\nwant %s", g, w)
				}
				if g, w := st.Totals(), golden.Step.Totals(); g != w {
					t.Errorf("totals: got %+v, want %+v", g, w)
				}
			})
		}
	}
	if n < 10 {
		t.Errorf("raw reports found: got %d, want at least 10", n)
	}
}

func verdicts(tests []pony.TestResult) string {
	var b strings.Builder
	for _, tr := range tests {
		fmt.Fprintf(&b, "%s|%s|%s|%d\n", tr.Suite, tr.Name, tr.Status, tr.AttemptNumber())
	}
	return b.String()
}

func TestRawUploadFormatParam(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "reporters", "testdata", "tap", "perl-basic.tap"))
	if err != nil {
		t.Fatal(err)
	}
	r := f.post("/api/v1/results?package=p&format=tap&name=prove+t/", data)
	if r.Code != http.StatusCreated {
		t.Fatalf("got %d %s, want 201", r.Code, r.Body)
	}
	var ans struct{ Receipt pony.Receipt }
	r.json(t, &ans)
	var bag pony.Bag
	f.get("/api/v1/results/"+ans.Receipt.ResultKey).json(t, &bag)
	if bag.Steps[0].Name != "prove t/" || bag.Steps[0].Format != "tap" {
		t.Errorf("step: got name %q format %q, want %q tap", bag.Steps[0].Name, bag.Steps[0].Format, "prove t/")
	}
}

// TestErrors covers every error status of the JSON API.
func TestErrors(t *testing.T) {
	f := newFixture(t, fixtureOpts{http: httpapi.Options{MaxBody: 64 << 10}})
	writeP := f.token("p", aggregator.ScopeWrite)
	readP := f.token("p", aggregator.ScopeRead)
	writeQ := f.token("q", aggregator.ScopeWrite)
	good := mustJSON(t, sampleBag("p", "h"))
	rec := f.postBag(sampleBag("p", "h"), writeP)

	longName := mustJSON(t, sampleBag(strings.Repeat("x", 2000), "h"))
	badStatus := []byte(`{"client_info":{"package":"p"},"results_list":[{"type":"test","name":"t","status":0,"tests":[{"name":"a","status":"passed"}]}]}`)
	noPackage := []byte(`{"client_info":{"host":"h"},"results_list":[]}`)
	badType := []byte(`{"client_info":{"package":"p"},"results_list":[{"type":"test","status":"zero"}]}`)
	tooManyTags := sampleBag("p", "h")
	for i := range 300 {
		tooManyTags.ClientInfo.Tags = append(tooManyTags.ClientInfo.Tags, fmt.Sprintf("t%d", i))
	}
	tests := []struct {
		name, method, target string
		body                 []byte
		header               []string
		status               int
		want                 string // a regexp the error must match
	}{
		{"bad JSON", "POST", "/api/v1/results", []byte(`{"client_info": {"package": "p"},}`), []string{writeP}, 400, `^bad JSON at byte \d+`},
		{"missing package", "POST", "/api/v1/results", noPackage, []string{writeP}, 400, `client_info\.package: is required`},
		{"bad test status", "POST", "/api/v1/results", badStatus, []string{writeP}, 400, `unknown test status "passed"`},
		{"wrong JSON type", "POST", "/api/v1/results", badType, []string{writeP}, 400, `invalid bag: .*status`},
		{"unrecognised raw report", "POST", "/api/v1/results?package=p", []byte("hello world\nthis is not a report\n"), []string{writeP}, 400, `unrecognised report format: it starts with "hello world".*\?format=gotest\|junit\|tap`},
		{"empty body", "POST", "/api/v1/results", nil, []string{writeP, "Content-Type: application/json"}, 400, `^empty request body: send a bag`},
		{"JSON neither bag nor report", "POST", "/api/v1/results?package=p", []byte(`{"foo": 1}`), []string{writeP}, 400, `client_info and results_list`},
		{"raw without package", "POST", "/api/v1/results?host=h", []byte("TAP version 13\n1..1\nok 1\n"), []string{writeP}, 400, `package is required`},
		{"unknown query parameter", "POST", "/api/v1/results?package=p&pkg=x", []byte("1..1\nok 1\n"), []string{writeP}, 400, `unknown query parameter "pkg"`},
		{"unknown format", "POST", "/api/v1/results?package=p&format=xunit", []byte("1..1\nok 1\n"), []string{writeP}, 400, `unknown format "xunit"`},
		{"missing token", "POST", "/api/v1/results", good, nil, 401, `a token is required`},
		{"unknown token", "POST", "/api/v1/results", good, []string{"Authorization: Bearer pony_nope"}, 401, `unknown token`},
		{"unknown token, bad body", "POST", "/api/v1/results", []byte("{"), []string{"Authorization: Bearer pony_nope"}, 401, `unknown token`},
		{"malformed header", "POST", "/api/v1/results", good, []string{"Authorization: Basic dXNlcjpwYXNz"}, 401, `malformed Authorization header: want "Bearer <token>", got scheme "Basic"`},
		{"empty bearer", "POST", "/api/v1/results", good, []string{"Authorization: Bearer "}, 401, `malformed Authorization header`},
		{"token of another package", "POST", "/api/v1/results", good, []string{writeQ}, 403, `is for package "q", not "p"`},
		{"read token writing", "POST", "/api/v1/results", good, []string{readP}, 403, `may only read`},
		{"raw, token of another package", "POST", "/api/v1/results?package=p", []byte("1..1\nok 1\n"), []string{writeQ}, 403, `not "p"`},
		{"body over the cap", "POST", "/api/v1/results", bytes.Repeat([]byte(" "), 64<<10+1), []string{writeP}, 413, `^request body is over the limit of 65536 bytes \(64 KiB\)$`},
		{"field over its cap", "POST", "/api/v1/results", longName, []string{f.token("*", aggregator.ScopeWrite)}, 413, `client_info\.package: is 2000 bytes, over the limit of 1024`},
		{"too many tags", "POST", "/api/v1/results", mustJSON(t, tooManyTags), []string{writeP}, 413, `client_info\.tags: has 302 tags, over the limit of 256`},
		{"idempotency key over its cap", "POST", "/api/v1/results", good, []string{writeP, "Idempotency-Key: " + strings.Repeat("k", 300)}, 413, `Idempotency-Key is 300 bytes`},
		{"unknown result", "GET", "/api/v1/results/nope", nil, nil, 404, `no result with key "nope"`},
		{"no latest", "GET", "/api/v1/packages/nobody/latest", nil, nil, 404, `no result for package "nobody"`},
		{"unknown endpoint", "GET", "/api/v1/nothing", nil, nil, 404, `no such endpoint: GET /api/v1/nothing`},
		{"wrong method", "DELETE", "/api/v1/results", nil, nil, 405, `method DELETE is not allowed`},
		{"bad limit", "GET", "/api/v1/packages/p/results?limit=-1", nil, nil, 400, `limit must be a whole number`},
		{"unknown filter", "GET", "/api/v1/packages/p/results?hots=x", nil, nil, 400, `unknown query parameter "hots"`},
		{"history without name", "GET", "/api/v1/packages/p/tests/history?suite=s", nil, nil, 400, `name is required`},
		{"should-build without package", "GET", "/api/v1/should-build?host=h", nil, nil, 400, `package is required`},
		{"should-build bad reserve", "GET", "/api/v1/should-build?package=p&reserve=maybe", nil, nil, 400, `reserve: want 1 or 0`},
		{"reserve with a read token", "GET", "/api/v1/should-build?package=p&reserve=1", nil, []string{readP}, 403, `may only read`},
		{"build request without token", "POST", "/api/v1/should-build/request?package=p", nil, nil, 401, `token is required`},
		{"build request bad JSON", "POST", "/api/v1/should-build/request", []byte(`{"package": "p", "hots": "x"}`), []string{writeP}, 400, `unknown field "hots"`},
		{"read with an unknown token", "GET", "/api/v1/results/" + rec.ResultKey, nil, []string{"Authorization: Bearer pony_nope"}, 401, `unknown token`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != nil {
				body = bytes.NewReader(tc.body)
			}
			r := f.do(tc.method, tc.target, body, tc.header...)
			if r.Code != tc.status {
				t.Fatalf("status: got %d %s, want %d", r.Code, clipBody(r.Body), tc.status)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type: got %q, want application/json", ct)
			}
			if msg := r.errorText(t); !regexp.MustCompile(tc.want).MatchString(msg) {
				t.Errorf("error: got %q, want a match of %q", msg, tc.want)
			}
		})
	}
	if !strings.Contains(f.logs.String(), "status=413") {
		t.Errorf("request log: no line with status=413")
	}
}

func TestValidationDetailNamesFields(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	bag := []byte(`{"client_info":{"package":"p","duration":-1},"results_list":[{"type":"test","name":"t","status":0,"tests":[{"name":"","status":"pass"}]}]}`)
	r := f.post("/api/v1/results", bag)
	if r.Code != http.StatusBadRequest {
		t.Fatalf("got %d %s, want 400", r.Code, r.Body)
	}
	var e struct {
		Error  string   `json:"error"`
		Detail []string `json:"detail"`
	}
	r.json(t, &e)
	want := []string{"client_info.duration: must be a finite number of seconds ≥ 0, got -1", "results_list[0].tests[0].name: is required"}
	if strings.Join(e.Detail, "\n") != strings.Join(want, "\n") {
		t.Errorf("detail: got %q, want %q", e.Detail, want)
	}
}

// TestBodyCapDefault checks the default 64 MiB cap, announced by
// Content-Length and found while reading a chunked body.
func TestBodyCapDefault(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const want = "request body is over the limit of 67108864 bytes (64 MiB)"
	r := f.do("POST", "/api/v1/results", io.LimitReader(zeros{}, 64<<20+1))
	if r.Code != http.StatusRequestEntityTooLarge || r.errorText(t) != want {
		t.Errorf("with Content-Length: got %d %q, want 413 %q", r.Code, r.errorText(t), want)
	}
	req, _ := http.NewRequest("POST", "/api/v1/results", io.LimitReader(zeros{}, 64<<20+1))
	req.ContentLength = -1 // chunked: the cap is found while reading
	rec := newRecorder()
	f.h.ServeHTTP(rec, req)
	var e struct{ Error string }
	_ = json.Unmarshal(rec.Body.Bytes(), &e)
	if rec.Code != http.StatusRequestEntityTooLarge || e.Error != want {
		t.Errorf("chunked: got %d %q, want 413 %q", rec.Code, e.Error, want)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestPrivateReads(t *testing.T) {
	f := newFixture(t, fixtureOpts{svc: aggregator.Options{PrivateReads: true}})
	writeP := f.token("p", aggregator.ScopeWrite)
	readP := f.token("p", aggregator.ScopeRead)
	readQ := f.token("q", aggregator.ScopeRead)
	all := f.token("*", aggregator.ScopeRead)
	rp := f.postBag(sampleBag("p", "h"), writeP)
	f.postBag(sampleBag("q", "h"), f.token("q", aggregator.ScopeWrite))

	tests := []struct {
		target string
		header []string
		status int
	}{
		{"/api/v1/results/" + rp.ResultKey, nil, 401},
		{"/api/v1/results/" + rp.ResultKey, []string{readQ}, 403},
		{"/api/v1/results/" + rp.ResultKey, []string{readP}, 200},
		{"/api/v1/results/" + rp.ResultKey, []string{writeP}, 200},
		{"/api/v1/packages/p/results", nil, 401},
		{"/api/v1/packages/p/results", []string{readQ}, 403},
		{"/api/v1/packages/p/results", []string{readP}, 200},
		{"/api/v1/packages/p/latest", []string{readQ}, 403},
		{"/api/v1/packages/p/tagsets", []string{readQ}, 403},
		{"/api/v1/packages/p/tests/history?suite=pkg/a&name=TestOne", []string{readQ}, 403},
		{"/api/v1/should-build?package=p", []string{readQ}, 403},
		{"/api/v1/should-build?package=p", []string{readP}, 200},
		{"/api/v1/packages", nil, 401},
	}
	for _, tc := range tests {
		if r := f.get(tc.target, tc.header...); r.Code != tc.status {
			t.Errorf("GET %s with %v: got %d %s, want %d", tc.target, tc.header, r.Code, clipBody(r.Body), tc.status)
		}
	}
	// A token of one package lists that package only.
	for _, tc := range []struct {
		header string
		want   string
	}{{readP, "p"}, {readQ, "q"}, {all, "p,q"}} {
		var ans struct {
			Packages []aggregator.PackageSummary `json:"packages"`
		}
		f.get("/api/v1/packages", tc.header).json(t, &ans)
		var names []string
		for _, p := range ans.Packages {
			names = append(names, p.Name)
		}
		sort.Strings(names)
		if g := strings.Join(names, ","); g != tc.want {
			t.Errorf("packages: got %q, want %q", g, tc.want)
		}
	}
}

func TestLogsNeverHoldTheToken(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	tok := f.token("p", aggregator.ScopeWrite)
	secret := strings.TrimPrefix(tok, "Authorization: Bearer ")
	f.postBag(sampleBag("p", "h"), tok)
	f.get("/api/v1/packages/p/results", tok)
	f.get("/api/v1/results/x", "Authorization: Bearer "+secret+"x")
	logs := f.logs.String()
	if strings.Contains(logs, secret) {
		t.Errorf("the log holds the token:\n%s", logs)
	}
	for _, want := range []string{`route=/api/v1/results path=/api/v1/results status=201`, `route=/api/v1/packages/:pkg/results path=/api/v1/packages/p/results status=200`, "client_ip=192.0.2.7", "method=POST", "bytes=", "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log: no %q in\n%s", want, logs)
		}
	}
}

func TestPaginationAndFilters(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	var keys []string
	for i := range 7 {
		host := "h1"
		if i%2 == 1 {
			host = "h2"
		}
		*f.now = f.now.Add(time.Second)
		keys = append(keys, f.postBag(sampleBag("pkg/with/slash", host)).ResultKey)
	}
	// Newest first, three at a time, following the Link header.
	target := "/api/v1/packages/" + url.PathEscape("pkg/with/slash") + "/results?limit=3"
	var got []string
	pages := 0
	for target != "" {
		r := f.get(target)
		if r.Code != 200 {
			t.Fatalf("GET %s: got %d %s", target, r.Code, r.Body)
		}
		var page aggregator.ResultPage
		r.json(t, &page)
		for _, s := range page.Results {
			got = append(got, s.Key)
		}
		pages++
		link := r.Header.Get("Link")
		if (page.Next == "") != (link == "") {
			t.Fatalf("next %q and Link %q disagree", page.Next, link)
		}
		target = ""
		if link != "" {
			m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link)
			if m == nil {
				t.Fatalf("Link: got %q, want <URL>; rel=\"next\"", link)
			}
			target = m[1]
			if !strings.Contains(target, "before="+url.QueryEscape(page.Next)) || !strings.Contains(target, "limit=3") {
				t.Errorf("Link target %q lacks before=%s or limit=3", target, page.Next)
			}
		}
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	want := make([]string, len(keys))
	for i, k := range keys {
		want[len(keys)-1-i] = k
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("keys:\ngot  %v\nwant %v", got, want)
	}
	if pages != 3 {
		t.Errorf("pages: got %d, want 3", pages)
	}

	// Filters.
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"host=h2", 3}, {"host=h1", 4}, {"tag=nightly", 7}, {"tag=nightly&tag=go1.22", 7}, {"tag=other", 0}, {"arch=linux-amd64&branch=main", 7}, {"branch=dev", 0},
	} {
		var page aggregator.ResultPage
		r := f.get("/api/v1/packages/pkg%2Fwith%2Fslash/results?" + tc.query)
		r.json(t, &page)
		if len(page.Results) != tc.n {
			t.Errorf("?%s: got %d results, want %d", tc.query, len(page.Results), tc.n)
		}
	}

	// Latest matching.
	var bag pony.Bag
	f.get("/api/v1/packages/pkg%2Fwith%2Fslash/latest?host=h1").json(t, &bag)
	if bag.Receipt == nil || bag.Receipt.ResultKey != keys[6] {
		t.Errorf("latest h1: got %+v, want key %s", bag.Receipt, keys[6])
	}
	f.get("/api/v1/packages/pkg%2Fwith%2Fslash/latest?host=h2").json(t, &bag)
	if bag.Receipt.ResultKey != keys[5] {
		t.Errorf("latest h2: got %s, want %s", bag.Receipt.ResultKey, keys[5])
	}

	// Tagsets: one per host.
	var ts struct {
		Package string              `json:"package"`
		Tagsets []aggregator.Tagset `json:"tagsets"`
	}
	f.get("/api/v1/packages/pkg%2Fwith%2Fslash/tagsets").json(t, &ts)
	if len(ts.Tagsets) != 2 || ts.Package != "pkg/with/slash" {
		t.Fatalf("tagsets: got %+v, want 2 of pkg/with/slash", ts)
	}
	counts := map[string]int{}
	for _, s := range ts.Tagsets {
		counts[s.Env.Host] = s.Results
	}
	if counts["h1"] != 4 || counts["h2"] != 3 {
		t.Errorf("tagset counts: got %v, want h1:4 h2:3", counts)
	}

	// Packages.
	var pk struct {
		Packages []aggregator.PackageSummary `json:"packages"`
	}
	f.get("/api/v1/packages").json(t, &pk)
	if len(pk.Packages) != 1 || pk.Packages[0].Name != "pkg/with/slash" || pk.Packages[0].Results != 7 {
		t.Errorf("packages: got %+v", pk.Packages)
	}

	// Test history, paginated.
	var h aggregator.TestHistory
	r := f.get("/api/v1/packages/pkg%2Fwith%2Fslash/tests/history?suite=pkg/a&name=TestTwo&limit=5")
	r.json(t, &h)
	if len(h.Verdicts) != 5 || h.Next == "" || !strings.Contains(r.Header.Get("Link"), `rel="next"`) {
		t.Fatalf("history page 1: got %d verdicts, next %q, Link %q", len(h.Verdicts), h.Next, r.Header.Get("Link"))
	}
	for _, v := range h.Verdicts {
		if v.Status != pony.StatusFail || v.Message != "want 1, got 2" {
			t.Errorf("verdict: got %+v, want fail with its message", v)
		}
	}
	var h2 aggregator.TestHistory
	f.get("/api/v1/packages/pkg%2Fwith%2Fslash/tests/history?suite=pkg/a&name=TestTwo&limit=5&before="+url.QueryEscape(h.Next)).json(t, &h2)
	if len(h2.Verdicts) != 2 || h2.Next != "" {
		t.Errorf("history page 2: got %d verdicts, next %q, want 2 and none", len(h2.Verdicts), h2.Next)
	}
	var h3 aggregator.TestHistory
	f.get("/api/v1/packages/pkg%2Fwith%2Fslash/tests/history?suite=pkg/a&name=TestTwo&host=h2").json(t, &h3)
	if len(h3.Verdicts) != 3 {
		t.Errorf("history on h2: got %d verdicts, want 3", len(h3.Verdicts))
	}
}

func TestShouldBuild(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	ask := func(query string) aggregator.BuildAnswer {
		t.Helper()
		r := f.get("/api/v1/should-build?" + query)
		if r.Code != 200 {
			t.Fatalf("should-build?%s: got %d %s", query, r.Code, r.Body)
		}
		var a aggregator.BuildAnswer
		r.json(t, &a)
		return a
	}
	env := "package=p&host=h&arch=linux-amd64&runtime=go1.22.4&tag=nightly&tag=go1.22"
	steps := []struct {
		do     func()
		query  string
		build  bool
		reason aggregator.BuildReason
		msg    string
	}{
		{nil, env, true, aggregator.ReasonNone, "no build recorded for"},
		{nil, env + "&reserve=1&allowance=600", true, aggregator.ReasonNone, "no build recorded"},
		{nil, env, false, aggregator.ReasonBuilding, "may be in build now"},
		{func() { *f.now = f.now.Add(11 * time.Minute); f.postBag(sampleBag("p", "h")) }, env, true, aggregator.ReasonFailed, "last build was unsuccessful; go!"},
		{func() {
			b := sampleBag("p", "h", pony.TestResult{Name: "ok", Status: pony.StatusPass})
			b.Steps[0].Status = 0
			f.postBag(b)
		}, env, false, aggregator.ReasonUpToDate, "build up to date"},
		{func() {
			r := f.post("/api/v1/should-build/request", []byte(`{"package":"p","host":"h","arch":"linux-amd64","runtime":"go1.22.4","tags":["go1.22","nightly"]}`))
			if r.Code != 200 {
				t.Fatalf("request build: got %d %s", r.Code, r.Body)
			}
		}, env, true, aggregator.ReasonRequested, "build requested"},
		{nil, env, false, aggregator.ReasonUpToDate, "build up to date"},
		{func() {
			if r := f.post("/api/v1/should-build/request?"+env, nil); r.Code != 200 {
				t.Fatalf("request build by query: got %d %s", r.Code, r.Body)
			}
		}, env, true, aggregator.ReasonRequested, "build requested"},
		{func() { *f.now = f.now.Add(25 * time.Hour) }, env, true, aggregator.ReasonStale, "last build was 25h"},
	}
	for i, s := range steps {
		if s.do != nil {
			s.do()
		}
		a := ask(s.query)
		if a.Build != s.build || a.Reason != s.reason || !strings.Contains(a.Message, s.msg) {
			t.Errorf("step %d: got %v %q %q, want %v %q %q", i, a.Build, a.Reason, a.Message, s.build, s.reason, s.msg)
		}
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	r := f.get("/healthz")
	if r.Code != 200 || strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
		t.Errorf("healthz: got %d %s, want 200 {\"status\":\"ok\"}", r.Code, r.Body)
	}
	bag := mustJSON(t, sampleBag("p", "h"))
	f.post("/api/v1/results", bag, "Idempotency-Key: m1")
	f.post("/api/v1/results", bag, "Idempotency-Key: m1")
	f.post("/api/v1/results", []byte("{"))
	f.post("/api/v1/results?package=p", []byte("TAP version 13\n1..2\nok 1 - a\nnot ok 2 - b\n"))
	m := f.get("/metrics")
	if m.Code != 200 {
		t.Fatalf("metrics: got %d", m.Code)
	}
	text := string(m.Body)
	for _, want := range []string{
		`pony_ingest_total{format="bag",outcome="created"} 1`,
		`pony_ingest_total{format="bag",outcome="replayed"} 1`,
		`pony_ingest_total{format="unknown",outcome="rejected"} 1`,
		`pony_ingest_total{format="tap",outcome="created"} 1`,
		fmt.Sprintf(`pony_ingest_bytes_total{format="bag"} %d`, len(bag)),
		`pony_ingest_tests_total{format="bag"} 2`,
		`pony_ingest_tests_total{format="tap"} 2`,
		`pony_http_request_duration_seconds_count{method="POST",route="/api/v1/results",status="201"} 2`,
		`pony_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics: no %q", want)
		}
	}
}

func TestHealthzStoreDown(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	// A cancelled request context makes the store round trip fail.
	req, _ := http.NewRequest("GET", "/healthz", nil)
	ctx, cancel := contextWithCancel()
	cancel()
	rec := newRecorder()
	f.h.ServeHTTP(rec, req.WithContext(ctx))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("got %d %s, want 503", rec.Code, rec.Body)
	}
}

func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		proxies []string
		want    string
	}{{nil, "192.0.2.7"}, {[]string{"192.0.2.0/24"}, "203.0.113.9"}} {
		f := newFixture(t, fixtureOpts{http: httpapi.Options{TrustedProxies: tc.proxies}})
		r := f.post("/api/v1/results", mustJSON(t, sampleBag("p", "h")), "X-Forwarded-For: 203.0.113.9")
		var ans struct{ Receipt pony.Receipt }
		r.json(t, &ans)
		if ans.Receipt.ClientIP != tc.want {
			t.Errorf("proxies %v: got client_ip %q, want %q", tc.proxies, ans.Receipt.ClientIP, tc.want)
		}
	}
	if err := (httpapi.Options{TrustedProxies: []string{"not-an-ip"}}).Validate(); err == nil {
		t.Error("Validate of a bad proxy: got nil, want an error")
	}
}

// TestCustomRegisterer checks that two servers can share one registry.
func TestCustomRegisterer(t *testing.T) {
	reg := newRegistry()
	for range 2 {
		f := newFixture(t, fixtureOpts{http: httpapi.Options{Registerer: reg, Logger: slog.New(slog.DiscardHandler)}})
		f.get("/healthz")
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "pony_http_request_duration_seconds" {
			if n := mf.GetMetric()[0].GetHistogram().GetSampleCount(); n != 2 {
				t.Errorf("shared histogram: got %d samples, want 2", n)
			}
			return
		}
	}
	t.Error("pony_http_request_duration_seconds not registered")
}

// TestPackagesFlakyAndNeverReported: GET /api/v1/packages counts as flaky
// the tests GET …/flaky lists (here two tests whose commit passed and
// failed, none a retry flake in the latest result), says how many were
// retry flakes apart, and lists a package that expects environments but
// never reported, its expected environments missing.
func TestPackagesFlakyAndNeverReported(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	f.postBag(envBag("p", "h1", "go1.22", "c1", pass("s", "TestA"), pass("s", "TestB")))
	f.postBag(envBag("p", "h1", "go1.22", "c1", fail("s", "TestA"), fail("s", "TestB")))
	f.postBag(envBag("p", "h1", "go1.22", "c2", pass("s", "TestA"), pass("s", "TestB")))
	if r := f.do(http.MethodPut, "/api/v1/packages/ghost/expected", strings.NewReader(`[{"name": "nightly", "match": {"host": "n1"}, "interval": "1h"}]`)); r.Code != 200 {
		t.Fatalf("PUT expected: got %d %s, want 200", r.Code, r.Body)
	}
	var fl struct {
		Tests []aggregator.FlakyTest `json:"tests"`
	}
	f.get("/api/v1/packages/p/flaky").json(t, &fl)
	var ans struct {
		Packages []struct {
			Name         string            `json:"package"`
			Results      int               `json:"results"`
			Environments []json.RawMessage `json:"environments"`
			Flaky        int               `json:"flaky"`
			RetryFlakes  *int              `json:"retry_flakes"`
			LastReceived *string           `json:"last_received"`
			Expected     []struct {
				Name     string `json:"name"`
				Interval string `json:"interval"` // as /expected and /tagsets write it
				Missing  bool   `json:"missing"`
				Reason   string `json:"reason"`
			} `json:"expected"`
		} `json:"packages"`
	}
	r := f.get("/api/v1/packages")
	r.json(t, &ans)
	if len(ans.Packages) != 2 || ans.Packages[0].Name != "ghost" || ans.Packages[1].Name != "p" {
		t.Fatalf("got %s, want ghost and p", clipBody(r.Body))
	}
	if p := ans.Packages[1]; len(fl.Tests) != 2 || p.Flaky != 2 || p.RetryFlakes == nil || *p.RetryFlakes != 0 || p.Expected != nil {
		t.Errorf("p: got %s and %d tests on the flaky page; want flaky 2 as the flaky page, retry_flakes 0 and no expected", clipBody(r.Body), len(fl.Tests))
	}
	g := ans.Packages[0]
	if g.Results != 0 || g.Environments == nil || len(g.Environments) != 0 || g.Flaky != 0 || g.LastReceived != nil ||
		len(g.Expected) != 1 || g.Expected[0].Name != "nightly" || g.Expected[0].Interval != "1h0m0s" || !g.Expected[0].Missing || g.Expected[0].Reason != "never reported" {
		t.Errorf("ghost: got %s, want no results nor last_received, environments [] and nightly (interval 1h0m0s) missing, never reported", clipBody(r.Body))
	}
	if !strings.Contains(string(r.Body), `"environments":[]`) {
		t.Errorf("got %s, want \"environments\":[] for ghost, not null", clipBody(r.Body))
	}
}
