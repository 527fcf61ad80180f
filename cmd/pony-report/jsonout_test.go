package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/client"
)

// TestPrintBagMatchesMarshalIndent checks the streaming printer against
// json.MarshalIndent on bags read from every report under
// reporters/testdata, plus odd shapes.
func TestPrintBagMatchesMarshalIndent(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "reporters", "testdata", "*", "*.golden.json"))
	var bags []*pony.Bag
	for _, g := range files {
		in := g[:len(g)-len(".golden.json")]
		steps, _, err := client.ReadSteps(context.Background(), []client.Input{{Path: in}}, client.ReadOptions{})
		if err != nil {
			continue // a report with no usable step: nothing to print
		}
		bags = append(bags, &pony.Bag{ClientInfo: pony.ClientInfo{Package: "p", Tags: []string{"a{b", `q"[`}}, Steps: steps})
	}
	if len(bags) < 10 {
		t.Fatalf("got %d bags from reporters/testdata, want the corpus", len(bags))
	}
	bags = append(bags,
		&pony.Bag{},
		&pony.Bag{Steps: []pony.Step{}},
		&pony.Bag{ClientInfo: pony.ClientInfo{Package: "x", Extra: map[string]json.RawMessage{"e": json.RawMessage(`{}`), "l": json.RawMessage(`[]`), "s": json.RawMessage(`"\\\"{}"`)}},
			Steps:   []pony.Step{{Name: "a"}, {Name: "b", Tests: []pony.TestResult{{Name: "t\\", Status: pony.StatusPass, Properties: map[string]string{}}}}},
			Receipt: &pony.Receipt{ResultKey: "k"}},
	)
	for i, b := range bags {
		want, err := json.MarshalIndent(b, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		var got bytes.Buffer
		if err := printBag(&got, b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("bag %d: got\n%.2000s\nwant\n%.2000s", i, got.Bytes(), want)
		}
	}
}
