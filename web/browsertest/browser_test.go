package browsertest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/pony-build/pony/internal/testenv"
)

// serverBin and reportBin are the real binaries, built once by TestMain.
var serverBin, reportBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pony-browsertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	serverBin, reportBin = filepath.Join(dir, "pony-server"), filepath.Join(dir, "pony-report")
	for _, b := range []struct{ out, pkg string }{{serverBin, "../../cmd/pony-server"}, {reportBin, "../../cmd/pony-report"}} {
		if out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// chromium returns the Chromium to drive: PONY_CHROMIUM, or the first of
// Debian's names on the PATH. Without one the test skips, or fails in CI.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PONY_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("PONY_CHROMIUM=%s: %v", p, err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium: install Debian's chromium (scripts/test.sh does) or set PONY_CHROMIUM; CI is set, so the browser test fails rather than skips")
	}
	t.Skip("no Chromium (install Debian's chromium or set PONY_CHROMIUM); skipped outside CI")
	return ""
}

// server is a pony-server process on a loopback port.
type server struct {
	URL    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// cleanEnv is the environment without the PONY_ variables of whoever runs
// the tests.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PONY_") {
			out = append(out, kv)
		}
	}
	return out
}

// startServer runs pony-server on a fresh SQLite database and waits for the
// line that gives its URL; the process is killed at the end of the test.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{stderr: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(serverBin, "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "pony.db"))
	s.cmd.Env = cleanEnv()
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "pony-server listening on "); ok {
				urlc <- u
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.done
	})
	select {
	case s.URL = <-urlc:
	case <-s.done:
		t.Fatalf("pony-server exited before listening:\n%s", s.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("pony-server did not say where it listens within 60 s:\n%s", s.stderr)
	}
	return s
}

var sentAs = regexp.MustCompile(`sent as (\S+)`)

// send runs the real `pony-report send` on files of reporters/testdata and
// returns the result key it printed. Exit 0 or 1 (some tests failed) are
// both fine; anything else fails the test.
func send(t *testing.T, srv *server, files []string, args ...string) string {
	t.Helper()
	root := testenv.RepoRoot(t)
	argv := append([]string{"send", "--server", srv.URL, "--spool-dir", t.TempDir(), "--retries", "1"}, args...)
	for _, f := range files {
		argv = append(argv, filepath.Join(root, "reporters", "testdata", f))
	}
	cmd := exec.Command(reportBin, argv...)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		t.Fatalf("pony-report %q: %v\n%s", argv, err, stderr.String())
	}
	m := sentAs.FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("pony-report %q: got stderr %q, want \"sent as KEY\"", argv, stderr.String())
	}
	return m[1]
}

// goPkg is the seeded Go package: its name holds slashes, which links must
// carry as %2F.
const goPkg = "example.com/go-demo"

// seed sends real reports from several environments: a failing one, a
// flaky rerun, several runtimes and a second package in Python. It returns
// the key of a failing result.
func seed(t *testing.T, srv *server) (failing string) {
	env := func(host, arch, rt string, tags ...string) []string {
		a := []string{"--package", goPkg, "--host", host, "--arch", arch, "--runtime", rt}
		for _, tag := range tags {
			a = append(a, "--tag", tag)
		}
		return a
	}
	// linux go1.22: every test of calc passes except the failing ones of
	// everyday.json, twice (so the second has a previous result).
	send(t, srv, []string{"gotest/real_shlex.json", "gotest/everyday.json"}, env("ci-linux-1", "linux-amd64", "go1.22.4", "nightly")...)
	failing = send(t, srv, []string{"gotest/real_shlex.json", "gotest/everyday.json"}, env("ci-linux-1", "linux-amd64", "go1.22.4", "nightly")...)
	// linux go1.23: reruns (gotestsum --rerun-fails, go test -count=3).
	send(t, srv, []string{"gotest/real_shlex.json", "gotest/gotestsum_rerun_fails.json", "gotest/count3.json"}, env("ci-linux-2", "linux-amd64", "go1.23.1", "nightly")...)
	send(t, srv, []string{"gotest/real_shlex.json", "gotest/count3.json"}, env("ci-linux-2", "linux-amd64", "go1.23.1", "nightly")...)
	// macOS go1.23: all green on shlex, a panic elsewhere.
	send(t, srv, []string{"gotest/real_shlex.json"}, env("mac-mini", "darwin-arm64", "go1.23.1")...)
	send(t, srv, []string{"gotest/real_shlex.json", "gotest/panic_in_test.json"}, env("mac-mini", "darwin-arm64", "go1.23.1")...)
	// A Python package on two runtimes, and a Java one with Surefire reruns.
	for _, rt := range []string{"python3.11", "python3.12"} {
		send(t, srv, []string{"junit/pytest-xunit2.xml"}, "--package", "pyapp", "--host", "ci-py", "--arch", "linux-amd64", "--runtime", rt)
	}
	send(t, srv, []string{"junit/surefire-reruns.xml"}, "--package", "javaapp", "--host", "ci-java", "--arch", "linux-amd64", "--runtime", "java21")
	// A package that passes everywhere.
	for _, rt := range []string{"go1.22.4", "go1.23.1"} {
		send(t, srv, []string{"gotest/real_shlex.json"}, "--package", "github.com/google/shlex", "--host", "ci-linux-1", "--arch", "linux-amd64", "--runtime", rt)
	}
	return failing
}

// browser drives one Chromium tab and collects what its console says.
type browser struct {
	ctx  context.Context
	base string

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T, exe, base string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Headless,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx, base: base}
	// The first Run starts the browser and its tab; Console subscribes to
	// the tab's console API calls, uncaught exceptions and log entries.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start Chromium %s: %v", exe, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// problems returns the console errors and exceptions since mark, and the
// new mark.
func (b *browser) problems(mark int) ([]string, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.messages[mark:] {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s %s (%s:%d)", m.Type, m.Text, m.URL, m.Line))
		}
	}
	return out, len(b.messages)
}

func (b *browser) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.messages)
}

// run runs actions with a time limit.
func run[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// scheme emulates prefers-color-scheme: light or dark.
func scheme(value string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: value}},
		})
		return err
	})
}

// view is what the test reads of a loaded page.
type view struct {
	Title       string   `json:"title"`
	Text        string   `json:"text"`
	Links       []string `json:"links"`
	Sheets      int      `json:"sheets"`
	BrokenImgs  []string `json:"brokenImgs"`
	ScrollWidth int      `json:"scrollWidth"`
	StickyTH    int      `json:"stickyTH"`
	Background  string   `json:"background"`
	Color       string   `json:"color"`
}

// pageBackground is a JavaScript function giving the colour behind the
// page: the body's, or the root element's when the body is transparent.
const pageBackground = `function pageBackground() {
  const b = getComputedStyle(document.body).backgroundColor;
  return /^rgba\(.*, 0\)$/.test(b) || b === "transparent" ? getComputedStyle(document.documentElement).backgroundColor : b;
}`

const readView = pageBackground + `;(() => ({
  title: document.title,
  text: document.body ? document.body.innerText : "",
  links: [...document.querySelectorAll("a[href]")].map(a => new URL(a.getAttribute("href"), location.href).href),
  sheets: [...document.styleSheets].filter(s => { try { return s.cssRules.length > 0 } catch (e) { return false } }).length,
  brokenImgs: [...document.images].filter(i => i.complete && i.naturalWidth === 0).map(i => i.src),
  scrollWidth: document.documentElement.scrollWidth,
  stickyTH: [...document.querySelectorAll("th")].filter(th => getComputedStyle(th).position === "sticky").length,
  background: pageBackground(),
  color: getComputedStyle(document.body).color,
}))()`

// load navigates to path, checks the answer is 200 and the console stays
// quiet, and returns what the page shows.
func (b *browser) load(t *testing.T, path string) view {
	t.Helper()
	mark := b.mark()
	resp := run(t, b, "navigate to "+path, chromedp.NavigateResponse(b.base+path))
	if resp == nil || resp.Status != http.StatusOK {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("GET %s in the browser: got status %d, want 200", path, status)
	}
	v := run(t, b, "read "+path, chromedp.Evaluate[view](readView))
	b.checkConsole(t, path, mark)
	return v
}

// checkConsole fails the test on console errors or exceptions since mark.
// It waits a little: log entries may trail the load event.
func (b *browser) checkConsole(t *testing.T, path string, mark int) {
	t.Helper()
	time.Sleep(150 * time.Millisecond)
	if p, _ := b.problems(mark); len(p) > 0 {
		t.Errorf("%s: got console errors %q, want none", path, p)
	}
}

// screenshot saves full-page PNGs of the current page, light and dark,
// as DIR/NAME-light.png and DIR/NAME-dark.png. It returns the body's
// background colours in both schemes.
func (b *browser) screenshot(t *testing.T, dir, name string) (light, dark string) {
	t.Helper()
	for _, s := range []string{"light", "dark"} {
		run(t, b, "emulate "+s, scheme(s))
		bg := run(t, b, "read background", chromedp.Evaluate[string](pageBackground+";pageBackground()"))
		png := run(t, b, "screenshot "+name, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(dir, name+"-"+s+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if s == "light" {
			light = bg
		} else {
			dark = bg
		}
	}
	run(t, b, "emulate no preference", scheme(""))
	return light, dark
}

// click clicks the first link whose path (escaped, as the browser holds
// it) matches re, waits for the new page, checks its status through the
// server and the console, and returns the new path.
func (b *browser) click(t *testing.T, from string, re *regexp.Regexp) string {
	t.Helper()
	mark := b.mark()
	js := fmt.Sprintf(`(() => {
  const re = new RegExp(%q);
  const url = a => new URL(a.getAttribute("href"), location.href);
  const a = [...document.querySelectorAll("a[href]")].find(a => url(a).origin === location.origin && re.test(url(a).pathname + url(a).search));
  if (!a) return "";
  const u = url(a);
  a.dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true, view: window}));
  return u.pathname + u.search;
})()`, re.String())
	target := run(t, b, "click on "+from, chromedp.Evaluate[string](js))
	if target == "" {
		t.Fatalf("%s: got no link matching %s, want one", from, re)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		loc := run(t, b, "location", chromedp.Evaluate[string](`document.readyState === "complete" ? location.pathname + location.search : ""`))
		if loc == target {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: clicked %s, got location %q after 30 s", from, target, loc)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.checkConsole(t, target, mark)
	return target
}

// checkLinks GETs every same-origin link of a page (once per test) and
// fails on any 4xx or 5xx answer.
func checkLinks(t *testing.T, base string, page string, links []string, seen map[string]bool) {
	t.Helper()
	for _, l := range links {
		u, err := url.Parse(l)
		if err != nil || !strings.HasPrefix(l, base) || seen[u.Path+"?"+u.RawQuery] {
			continue
		}
		seen[u.Path+"?"+u.RawQuery] = true
		u.Fragment = ""
		resp, err := http.Get(u.String())
		if err != nil {
			t.Errorf("%s links to %s: %v", page, l, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Errorf("%s links to %s: got status %d, want < 400", page, l, resp.StatusCode)
		}
	}
}

// luminance is the rough lightness (0–255) of a CSS rgb()/rgba() colour;
// -1 when it cannot be read.
func luminance(css string) float64 {
	var r, g, b float64
	if _, err := fmt.Sscanf(strings.Replace(css, "rgba(", "rgb(", 1), "rgb(%g, %g, %g", &r, &g, &b); err != nil {
		return -1
	}
	return 0.2126*r + 0.7152*g + 0.0722*b
}

// TestPagesInChromium loads every page of a seeded real server in headless
// Chromium, checks what a person sees, clicks through, and saves the
// screenshots the README shows.
func TestPagesInChromium(t *testing.T) {
	exe := chromium(t)
	srv := startServer(t)
	failing := seed(t, srv)
	b := newBrowser(t, exe, srv.URL)

	shots := os.Getenv("PONY_SCREENSHOT_DIR")
	if shots == "" {
		shots = filepath.Join(testenv.RepoRoot(t), "docs", "screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	pkgPath := "/p/" + url.PathEscape(goPkg)
	seen := map[string]bool{}

	pages := []struct {
		name, path string
		// want: text a person must see on the page.
		want []string
		// wide: the page may be wider than the 1280-px window (its table
		// scrolls sideways).
		wide bool
		// sticky: the page's table headers must stay in view.
		sticky bool
		// links: paths (escaped, with the query) the page must link to.
		links []string
	}{
		{name: "scoreboard", path: "/", want: []string{goPkg, "pyapp", "javaapp", "github.com/google/shlex", "✓", "✗", "~"}, links: []string{pkgPath, "/p/github.com%2Fgoogle%2Fshlex"}},
		{name: "package", path: pkgPath, want: []string{goPkg, "ci-linux-1", "ci-linux-2", "mac-mini", "go1.22.4", "go1.23.1"}, links: []string{pkgPath + "/matrix", pkgPath + "/flaky"}},
		{name: "matrix", path: pkgPath + "/matrix?rows=test", want: []string{"TestFailing", "TestPassing", "✓", "✗"}, wide: true, sticky: true},
		{name: "matrix-suites", path: pkgPath + "/matrix", want: []string{"example.com/everyday/calc", "github.com/google/shlex"}, wide: true, sticky: true},
		{name: "flaky", path: pkgPath + "/flaky", want: []string{goPkg}},
		{name: "result", path: "/r/" + failing, want: []string{"TestFailing", "ci-linux-1", "go1.22.4"}, wide: true, links: []string{"/r/" + failing + "/junit.xml", "/r/" + failing + ".json"}},
		{name: "test", path: pkgPath + "/t/" + url.PathEscape("example.com/everyday/calc") + "/TestFailing", want: []string{"TestFailing", "ci-linux-1"}},
		{name: "pyapp-matrix", path: "/p/pyapp/matrix?rows=test&cols=runtime", want: []string{"python3.11", "python3.12", "✓", "✗"}, wide: true, sticky: true},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			v := b.load(t, p.path)
			if !strings.HasPrefix(v.Title, "pony") {
				t.Errorf("%s: got title %q, want one starting with \"pony\"", p.path, v.Title)
			}
			for _, w := range p.want {
				if !strings.Contains(v.Text, w) {
					t.Errorf("%s: got no %q in the text a person sees, want it", p.path, w)
				}
			}
			for _, l := range p.links {
				if !slices.Contains(v.Links, srv.URL+l) {
					t.Errorf("%s: got no link to %s, want one", p.path, l)
				}
			}
			if v.Sheets < 1 {
				t.Errorf("%s: got %d stylesheets with rules, want the site's CSS", p.path, v.Sheets)
			}
			if len(v.BrokenImgs) > 0 {
				t.Errorf("%s: got broken images %q, want none", p.path, v.BrokenImgs)
			}
			if !p.wide && v.ScrollWidth > 1280 {
				t.Errorf("%s: got a page %d px wide, want it to fit the 1280-px window", p.path, v.ScrollWidth)
			}
			if p.sticky && v.StickyTH == 0 {
				t.Errorf("%s: got no th with position: sticky, want sticky table headers", p.path)
			}
			checkLinks(t, srv.URL, p.path, v.Links, seen)
			light, dark := b.screenshot(t, shots, p.name)
			if ll, ld := luminance(light), luminance(dark); ll < 0 || ld < 0 || ld >= ll {
				t.Errorf("%s: got body background %s in light and %s in dark, want the dark one darker", p.path, light, dark)
			}
		})
	}

	t.Run("matrix-cells", func(t *testing.T) {
		// What a person reads in given cells: the row of a test, the
		// column of an environment, the symbol and the title there.
		b.load(t, pkgPath+"/matrix?rows=test")
		cell := func(row, col string) [2]string {
			t.Helper()
			js := fmt.Sprintf(`(() => {
  const cols = [...document.querySelectorAll("table.mx thead th.col")].map(th => th.innerText.replace(/\s+/g, " ").trim());
  const c = cols.findIndex(l => l.includes(%q));
  const tr = [...document.querySelectorAll("table.mx tbody tr")].find(tr => { const a = tr.querySelector("td.row a"); return a && a.innerText.trim() === %q });
  if (c < 0 || !tr) return ["", "no such row or column: " + cols.join(" | ")];
  const td = tr.querySelectorAll("td")[c + 1];
  if (!td) return ["", "no cell"];
  const x = td.querySelector("a, i");
  return [td.innerText.trim(), (x && x.title) || ""];
})()`, col, row)
			return run(t, b, "read cell "+row+" × "+col, chromedp.Evaluate[[2]string](js))
		}
		for _, c := range []struct{ row, col, sym, title string }{
			{"TestFailing", "go1.22.4", "✗", "fail"},
			{"TestPassing", "go1.22.4", "✓", "pass"},
			{"TestFlaky", "go1.23.1", "~", "flaky"},
		} {
			got := cell(c.row, c.col)
			if !strings.HasPrefix(got[0], c.sym) || !strings.Contains(got[1], c.title) {
				t.Errorf("matrix cell %s × %s: got %q titled %q, want %s, titled with %q", c.row, c.col, got[0], got[1], c.sym, c.title)
			}
		}
	})

	t.Run("flaky-tests", func(t *testing.T) {
		// The rerun that passed is ranked, with its signal and where.
		v := b.load(t, pkgPath+"/flaky")
		for _, w := range []string{"TestFlaky", "retry", "ci-linux-2"} {
			if !strings.Contains(v.Text, w) {
				t.Errorf("flaky page: got no %q in the text a person sees, want it", w)
			}
		}
	})

	t.Run("click-through", func(t *testing.T) {
		// From the scoreboard to the package (its name escaped as %2F),
		// on to the matrix, a cell's result, and the JUnit export.
		b.load(t, "/")
		got := b.click(t, "/", regexp.MustCompile(`^/p/example\.com%2Fgo-demo$`))
		if got != pkgPath {
			t.Fatalf("got %s, want %s", got, pkgPath)
		}
		b.click(t, pkgPath, regexp.MustCompile(`^/p/example\.com%2Fgo-demo/matrix`))
		b.click(t, "matrix", regexp.MustCompile(`^/r/[^/]+$`))
		v := run(t, b, "read result", chromedp.Evaluate[view](readView))
		if !strings.Contains(v.Text, goPkg) {
			t.Errorf("result page reached from a matrix cell: got no %q, want it", goPkg)
		}
	})

	t.Run("latest", func(t *testing.T) {
		// The "latest result of this environment" link lands on a result.
		v := b.load(t, pkgPath+"/latest?host=ci-linux-1&arch=linux-amd64&runtime=go1.22.4")
		loc := run(t, b, "location", chromedp.Location())
		if want := "/r/" + failing; !strings.HasSuffix(loc, want) {
			t.Errorf("latest: got location %s, want …%s", loc, want)
		}
		if !strings.Contains(v.Text, "TestFailing") {
			t.Errorf("latest: got no TestFailing on the result page, want it")
		}
	})

	t.Run("badge", func(t *testing.T) {
		for _, q := range []string{"", "?host=mac-mini", "?host=ci-linux-1&runtime=go1.22.4"} {
			path := pkgPath + "/badge.svg" + q
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "image/svg+xml") {
				t.Errorf("GET %s: got %d %s, want 200 image/svg+xml", path, resp.StatusCode, ct)
			}
			if !bytes.Contains(body, []byte("<svg")) {
				t.Errorf("GET %s: got %.80q, want an SVG", path, body)
			}
		}
		// The browser renders the badge as an image of some width.
		mark := b.mark()
		// A README embeds it as an image: put two on a page of the server.
		b.load(t, "/")
		js := fmt.Sprintf(`new Promise(r => {
  document.body.replaceChildren();
  for (const src of [%q, %q]) { const i = new Image(); i.src = src; document.body.append(i) }
  const f = () => { const i = [...document.images]; if (i.every(x => x.complete)) r(i.map(x => x.naturalWidth)); else setTimeout(f, 20) };
  f();
})`, pkgPath+"/badge.svg", pkgPath+"/badge.svg?host=ci-linux-1&runtime=go1.22.4")
		w := run(t, b, "badge width", chromedp.Evaluate[[]int](js, chromedp.EvalAwaitPromise))
		for i, n := range w {
			if n == 0 {
				t.Errorf("badge %d: got natural width 0 in Chromium, want a drawn badge", i)
			}
		}
		b.checkConsole(t, "badge", mark)
		run(t, b, "badge page back to the server", chromedp.Navigate(srv.URL+pkgPath+"/badge.svg?host=ci-linux-1&runtime=go1.22.4"))
		png := run(t, b, "screenshot badge", chromedp.Screenshot(chromedp.CSS("svg")))
		if err := os.WriteFile(filepath.Join(shots, "badge.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	if t.Failed() {
		t.Logf("pony-server stderr:\n%s", srv.stderr)
	}
}
