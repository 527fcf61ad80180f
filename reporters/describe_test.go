package reporters_test

import (
	"strings"
	"testing"

	"github.com/pony-build/pony/reporters"
)

// TestDetectNamesXMLRoot: an XML report that is not JUnit (TRX, NUnit, a
// feed) is refused naming its root element, past the declaration,
// comments and doctype.
func TestDetectNamesXMLRoot(t *testing.T) {
	for in, want := range map[string]string{
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- generated -->\n<suites name=\"x\">":                               "root element is <suites>",
		"\ufeff<?xml version=\"1.0\"?><TestRun id=\"1\" xmlns=\"http://microsoft.com/schemas/VisualStudio/TeamTest/2010\">": "root element is <TestRun>",
		"<!DOCTYPE html>\n<html>": "root element is <html>",
		"hello world":             `it starts with "hello world"`,
		"<?xml version=\"1.0\"?>": `it starts with "<?xml`,
	} {
		_, err := reporters.Detect([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error saying %q", in, err, want)
		}
	}
}
