package reporters_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden is what a golden file holds: the bag the parse makes (the step
// in a bag whose client_info is fixed, as pony-report parse prints it but
// for the machine's own values), and the parse error when the input is
// damaged.
type golden struct {
	Error string          `json:"error,omitempty"`
	Bag   json.RawMessage `json:"bag"`
}

// goldenInfo is the client_info of the golden bags.
var goldenInfo = pony.ClientInfo{Package: "golden", Host: "golden-host", Arch: "linux-amd64"}

// TestGolden parses every input under testdata/FORMAT/ (the folder names the
// format) and compares the bag made of its step with FILE.golden.json. Detection must pick
// the folder's format too. Regenerate with:
//
//	go test ./reporters -run TestGolden -update
func TestGolden(t *testing.T) {
	for _, format := range reporters.Names() {
		files, _ := filepath.Glob(filepath.Join("testdata", format, "*"))
		for _, in := range files {
			if strings.HasSuffix(in, ".golden.json") || strings.HasSuffix(in, ".md") || strings.HasSuffix(in, ".sh") {
				continue
			}
			if fi, err := os.Stat(in); err != nil || fi.IsDir() {
				continue
			}
			t.Run(format+"/"+filepath.Base(in), func(t *testing.T) {
				data, err := os.ReadFile(in)
				if err != nil {
					t.Fatal(err)
				}
				head := data[:min(len(data), reporters.DetectSize)]
				if f, err := reporters.Detect(head); err != nil || f.Name != format {
					t.Errorf("Detect: got %q (%v), want %q", f.Name, err, format)
				}
				step, perr := reporters.Parse(context.Background(), format, bytes.NewReader(data), reporters.Options{File: filepath.Base(in), FromFile: true})
				var g golden
				if perr != nil {
					g.Error = perr.Error()
				}
				var bag *pony.Bag // none when there is no usable step
				if step != nil {
					bag = &pony.Bag{ClientInfo: goldenInfo, Steps: []pony.Step{*step}}
					if err := bag.Validate(pony.DefaultLimits); err != nil {
						t.Errorf("the bag is not valid: %v", err)
					}
				}
				if g.Bag, err = json.Marshal(bag); err != nil {
					t.Fatal(err)
				}
				got, err := json.MarshalIndent(g, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, '\n')
				goldenPath := in + ".golden.json"
				if *update {
					if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(goldenPath)
				if err != nil {
					t.Fatalf("no golden file (run with -update): %v", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the parse; rerun with -update and review the diff.\ngot:\n%s", goldenPath, firstDiff(got, want))
				}
			})
		}
	}
}

// firstDiff shows the lines around the first difference.
func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return "(no line differs)"
}

func itoa(i int) string { return jsonNum(i) }

func jsonNum(i int) string { b, _ := json.Marshal(i); return string(b) }
