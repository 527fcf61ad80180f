package benchgen

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"time"
)

func init() { Register("gotest", goTest) }

// goTest writes a `go test -json` stream shaped like a real `go test -json
// ./...` run (compare reporters/testdata/gotest/): about n tests and
// subtests in packages of 200 top-level tests, each test logging a few
// t.Log lines; every 5th test runs 3 subtests, every 50th fails with a
// multi-line t.Errorf, every 97th skips with a reason, and the package
// summary lines close each package. About 1.3 KB a test, so n=40000 gives
// about 50 MB. The output is deterministic.
func goTest(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	g := goTestGen{w: bw, t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	written := 0
	for p := 0; written < n; p++ {
		pkg := fmt.Sprintf("github.com/example/service/internal/module%03d", p)
		g.pkgEvent("start", pkg, "")
		pkgFailed := false
		for i := 0; i < 200 && written < n; i++ {
			name := fmt.Sprintf("TestHandler%04d_ValidatesInput", i)
			written++
			k := written
			status := g.test(pkg, name, i, k)
			if status != "skip" && i%5 == 0 {
				for s := 0; s < 3 && written < n; s++ {
					written++
					sub := name + "/case_" + strconv.Itoa(s)
					st := g.test(pkg, sub, i+s+1, written)
					g.end(pkg, sub, st, written)
					if st == "fail" {
						status = "fail"
					}
				}
			}
			g.end(pkg, name, status, k)
			pkgFailed = pkgFailed || status == "fail"
		}
		if pkgFailed {
			g.output(pkg, "", "FAIL\n")
			g.output(pkg, "", fmt.Sprintf("FAIL\t%s\t1.234s\n", pkg))
			g.pkgEvent("fail", pkg, "1.234")
		} else {
			g.output(pkg, "", "PASS\n")
			g.output(pkg, "", fmt.Sprintf("ok  \t%s\t1.234s\n", pkg))
			g.pkgEvent("pass", pkg, "1.234")
		}
	}
	if g.err != nil {
		return g.err
	}
	return bw.Flush()
}

type goTestGen struct {
	w   *bufio.Writer
	t   time.Time
	err error
}

func (g *goTestGen) now() string {
	g.t = g.t.Add(13457 * time.Nanosecond)
	return g.t.Format(time.RFC3339Nano)
}

func (g *goTestGen) line(s string) {
	if g.err == nil {
		_, g.err = g.w.WriteString(s)
	}
}

func (g *goTestGen) pkgEvent(action, pkg, elapsed string) {
	if elapsed != "" {
		g.line(`{"Time":"` + g.now() + `","Action":"` + action + `","Package":"` + pkg + `","Elapsed":` + elapsed + "}\n")
		return
	}
	g.line(`{"Time":"` + g.now() + `","Action":"` + action + `","Package":"` + pkg + "\"}\n")
}

func (g *goTestGen) event(action, pkg, test string) {
	g.line(`{"Time":"` + g.now() + `","Action":"` + action + `","Package":"` + pkg + `","Test":"` + test + "\"}\n")
}

func (g *goTestGen) output(pkg, test, out string) {
	q := strconv.Quote(out)
	if test == "" {
		g.line(`{"Time":"` + g.now() + `","Action":"output","Package":"` + pkg + `","Output":` + q + "}\n")
		return
	}
	g.line(`{"Time":"` + g.now() + `","Action":"output","Package":"` + pkg + `","Test":"` + test + `","Output":` + q + "}\n")
}

// test writes a test's run and output events and returns its verdict:
// pass, fail or skip.
func (g *goTestGen) test(pkg, name string, i, k int) string {
	g.event("run", pkg, name)
	g.output(pkg, name, "=== RUN   "+name+"\n")
	g.output(pkg, name, fmt.Sprintf("    handler_test.go:%d: request %d: GET /api/v1/items?page=%d&limit=50\n", 40+i%30, k, k%17))
	g.output(pkg, name, fmt.Sprintf("    handler_test.go:%d: response 200 in %dµs, %d bytes\n", 52+i%30, 100+k%900, 512+k%4096))
	if k%97 != 0 && k%50 != 0 {
		for x := 0; x < ExtraPassingOutput; x++ {
			g.output(pkg, name, fmt.Sprintf("    handler_test.go:%d: cache lookup %d for item %d: hit\n", 70+x%20, x, k))
		}
	}
	switch {
	case k%97 == 0:
		g.output(pkg, name, "    handler_test.go:33: skipping: needs the integration database (set TEST_DB_URL)\n")
		return "skip"
	case k%50 == 0:
		g.output(pkg, name, fmt.Sprintf("    handler_test.go:%d: unexpected body:\n", 60+i%30))
		g.output(pkg, name, "        got:  {\"items\":[],\"next\":null}\n")
		g.output(pkg, name, "        want: {\"items\":[{\"id\":1}],\"next\":\"2\"}\n")
		return "fail"
	}
	return "pass"
}

// end writes a test's verdict.
func (g *goTestGen) end(pkg, name, status string, k int) {
	elapsed := fmt.Sprintf("%d.%02d", k%3, k%100)
	verdict := map[string]string{"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}[status]
	g.output(pkg, name, "--- "+verdict+": "+name+" ("+elapsed+"s)\n")
	g.line(`{"Time":"` + g.now() + `","Action":"` + status + `","Package":"` + pkg + `","Test":"` + name + `","Elapsed":` + elapsed + "}\n")
}
