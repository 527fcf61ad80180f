package reporters_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
	"github.com/pony-build/pony/reporters"
)

func TestJUnitDetect(t *testing.T) {
	f, ok := reporters.Lookup("junit")
	if !ok {
		t.Fatal("junit is not registered")
	}
	tests := []struct {
		head string
		want int
	}{
		{`<?xml version="1.0" encoding="UTF-8"?><testsuites>`, 100},
		{"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- by hand -->\n<testsuite name=\"x\">", 100},
		{"<!DOCTYPE testsuite>\n<testsuite\n name=\"x\">", 100},
		{"  <testsuite/>", 100},
		{`<?xml version="1.0"?><test-run id="2">`, 0},
		{`<?xml version="1.0"?><TestRun id="1">`, 0},
		{`<testsuitesX>`, 0},
		{"<!-- unterminated", 0},
		{`{"Action":"run"}`, 0},
		{"TAP version 13\n", 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := f.Detect([]byte(tc.head)); got != tc.want {
			t.Errorf("Detect(%q): got %d, want %d", tc.head, got, tc.want)
		}
	}
}

func TestJUnitParseDamaged(t *testing.T) {
	tests := []struct {
		name           string
		in             string
		wantStep       bool
		wantTests      int
		wantIncomplete bool
		wantErr        error
	}{
		{"not junit", `<test-run id="2"/>`, false, 0, false, junit.ErrNotJUnit},
		{"truncated", "<testsuite name=\"s\">\n<testcase name=\"a\"/>\n<testcase name=\"b\"><failure>", true, 1, true, junit.ErrTruncated},
		{"whole", `<testsuite name="s"><testcase name="a"/><system-out>hi</system-out></testsuite>`, true, 1, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := reporters.Parse(context.Background(), "junit", strings.NewReader(tc.in), reporters.Options{File: "r.xml"})
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			var ie *pony.InputError
			if err != nil && (!errors.As(err, &ie) || ie.File != "r.xml") {
				t.Errorf("got error %v, want a *pony.InputError naming r.xml", err)
			}
			if (step != nil) != tc.wantStep {
				t.Fatalf("got step %v, want one: %v", step, tc.wantStep)
			}
			if step == nil {
				return
			}
			if len(step.Tests) != tc.wantTests || step.Incomplete != tc.wantIncomplete || step.Format != "junit" {
				t.Errorf("got %d tests, incomplete %v, format %q; want %d, %v, junit", len(step.Tests), step.Incomplete, step.Format, tc.wantTests, tc.wantIncomplete)
			}
			if tc.name == "whole" && step.Output != "[s]\nhi\n" {
				t.Errorf("got output %q, want %q", step.Output, "[s]\nhi\n")
			}
		})
	}
}
