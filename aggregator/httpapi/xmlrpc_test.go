package httpapi

import (
	"bytes"
	"encoding/xml"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// encodeCall writes a methodCall, for tests: the server only reads calls.
func encodeCall(method string, params ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	escapeText(&b, method)
	b.WriteString("</methodName>\n<params>\n")
	for _, p := range params {
		b.WriteString("<param>\n")
		if err := encodeValue(&b, p, 0); err != nil {
			return nil, err
		}
		b.WriteString("</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	return b.Bytes(), nil
}

func TestXMLRPCRoundTrip(t *testing.T) {
	when := time.Date(2009, 11, 22, 10, 0, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   any
	}{
		{"string", "hello <world> & \"friends\"\n\ttabbed"},
		{"empty string", ""},
		{"unicode", "héllo, 世界 ✓"},
		{"int", int64(-42)},
		{"big int", int64(1) << 40},
		{"true", true},
		{"false", false},
		{"double", 12.5},
		{"epoch double", 1732612345.123456},
		{"time", when},
		{"bytes", []byte{0, 1, 2, 0xff, 'x'}},
		{"nil", nil},
		{"empty array", []any{}},
		{"empty struct", map[string]any{}},
		{"nested", map[string]any{
			"package": "pony", "tags": []any{"py2.6", "nightly"}, "success": false, "duration": 3.25,
			"results": []any{map[string]any{"status": int64(0), "output": nil, "blob": []byte("x")}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := encodeCall("m", tc.in, "second")
			if err != nil {
				t.Fatal(err)
			}
			call, err := decodeMethodCall(data, defaultXMLRPCLimits)
			if err != nil {
				t.Fatalf("decode %s: %v", data, err)
			}
			if call.Method != "m" || len(call.Params) != 2 || call.Params[1] != "second" {
				t.Fatalf("call: got %+v, want m(…, second)", call)
			}
			if !reflect.DeepEqual(call.Params[0], tc.in) {
				t.Errorf("got %#v, want %#v", call.Params[0], tc.in)
			}
		})
	}
}

// pythonCall is what Python 3's xmlrpc.client.dumps((info, results),
// "add_results", allow_none=True) writes, for an old pony-build client's
// arguments: a tuple of tags, None, a Binary, a float duration.
const pythonCall = `<?xml version='1.0'?>
<methodCall>
<methodName>add_results</methodName>
<params>
<param>
<value><struct>
<member>
<name>package</name>
<value><string>pony-build</string></value>
</member>
<member>
<name>arch</name>
<value><string>linux-x86_64</string></value>
</member>
<member>
<name>success</name>
<value><boolean>0</boolean></value>
</member>
<member>
<name>tags</name>
<value><array><data>
<value><string>python2.6</string></value>
</data></array></value>
</member>
<member>
<name>duration</name>
<value><double>3.5</double></value>
</member>
</struct></value>
</param>
<param>
<value><array><data>
<value><struct>
<member>
<name>status</name>
<value><nil/></value></member>
<member>
<name>output</name>
<value><base64>
aGVsbG8=
</base64></value>
</member>
<member>
<name>name</name>
<value>bare text</value>
</member>
<member>
<name>when</name>
<value><dateTime.iso8601>20091122T10:00:05</dateTime.iso8601></value>
</member>
</struct></value>
</data></array></value>
</param>
</params>
</methodCall>
`

func TestXMLRPCPythonCall(t *testing.T) {
	call, err := decodeMethodCall([]byte(pythonCall), defaultXMLRPCLimits)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"package": "pony-build", "arch": "linux-x86_64", "success": false, "tags": []any{"python2.6"}, "duration": 3.5},
		[]any{map[string]any{"status": nil, "output": []byte("hello"), "name": "bare text", "when": time.Date(2009, 11, 22, 10, 0, 5, 0, time.UTC)}},
	}
	if call.Method != "add_results" || !reflect.DeepEqual(call.Params, want) {
		t.Errorf("got %s %#v, want add_results %#v", call.Method, call.Params, want)
	}
}

func TestXMLRPCOldClientBytes(t *testing.T) {
	// Python 2's xmlrpclib sends str bytes as they are: control characters
	// (ANSI colours) and, in a Latin-1 document, Latin-1 bytes.
	call, err := decodeMethodCall([]byte("<?xml version='1.0'?><methodCall><methodName>m</methodName><params><param><value><string>\x1b[31mFAIL\x1b[0m\x00</string></value></param></params></methodCall>"), defaultXMLRPCLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := call.Params[0]; got != "\x1b[31mFAIL\x1b[0m\x00" {
		t.Errorf("control characters: got %q", got)
	}
	call, err = decodeMethodCall([]byte("<?xml version='1.0' encoding='iso-8859-1'?><methodCall><methodName>m</methodName><params><param><value>caf\xe9</value></param></params></methodCall>"), defaultXMLRPCLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := call.Params[0]; got != "café" {
		t.Errorf("latin-1: got %q, want café", got)
	}
	call, err = decodeMethodCall([]byte("<methodCall><methodName>m</methodName><params><param><value>caf\xe9!</value></param></params></methodCall>"), defaultXMLRPCLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := call.Params[0]; got != "caf\uFFFD!" {
		t.Errorf("bad UTF-8: got %q, want caf\uFFFD!", got)
	}
}

func TestXMLRPCMalformed(t *testing.T) {
	wrap := func(v string) string {
		return "<methodCall><methodName>m</methodName><params><param>" + v + "</param></params></methodCall>"
	}
	tests := []struct {
		name, in  string
		malformed bool   // not XML at all
		want      string // in the message
	}{
		{"empty", "", true, "unexpected end"},
		{"not XML", "hello", false, `unexpected text "hello"`},
		{"unclosed", "<methodCall><methodName>m</methodName>", true, "unexpected EOF"},
		{"mismatched", "<methodCall><methodName>m</methodCall>", true, ""},
		{"not a call", "<methodResponse/>", false, "want <methodCall>"},
		{"no method name", "<methodCall><params/></methodCall>", false, "no <methodName>"},
		{"two method names", "<methodCall><methodName>a</methodName><methodName>b</methodName></methodCall>", false, "two <methodName>"},
		{"element in name", "<methodCall><methodName><b>m</b></methodName></methodCall>", false, "unexpected <b> inside text"},
		{"unknown type", wrap("<value><float>1</float></value>"), false, "unknown value type <float>"},
		{"bad int", wrap("<value><int>1.5</int></value>"), false, `bad <int> "1.5"`},
		{"int overflow", wrap("<value><i8>99999999999999999999</i8></value>"), false, "bad <i8>"},
		{"bad boolean", wrap("<value><boolean>yes</boolean></value>"), false, `bad <boolean> "yes"`},
		{"bad double", wrap("<value><double>one</double></value>"), false, "bad <double>"},
		{"bad date", wrap("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>"), false, "bad <dateTime.iso8601>"},
		{"bad base64", wrap("<value><base64>!!!</base64></value>"), false, "bad <base64>"},
		{"two types", wrap("<value><int>1</int><int>2</int></value>"), false, "holds one typed value"},
		{"text and type", wrap("<value>x<int>1</int></value>"), false, "text \"x\" before <int>"},
		{"member without value", wrap("<value><struct><member><name>a</name></member></struct></value>"), false, "needs a <name> and a <value>"},
		{"array without data", wrap("<value><array><value>1</value></array></value>"), false, "want <data>"},
		{"nil with text", wrap("<value><nil>x</nil></value>"), false, "<nil> holds text"},
		{"param without value", "<methodCall><methodName>m</methodName><params><param></param></params></methodCall>", false, "want <value>"},
		{"trailing element", "<methodCall><methodName>m</methodName></methodCall><x/>", false, "after </methodCall>"},
		{"doctype", "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><methodCall><methodName>&e;</methodName></methodCall>", false, "directives"},
		{"undefined entity", "<methodCall><methodName>&e;</methodName></methodCall>", true, "entity"},
		{"bad encoding", "<?xml version='1.0' encoding='ebcdic'?><methodCall/>", true, "unsupported encoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeMethodCall([]byte(tc.in), defaultXMLRPCLimits)
			var se *xmlrpcSyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want an *xmlrpcSyntaxError", err)
			}
			if se.Malformed != tc.malformed {
				t.Errorf("malformed: got %v, want %v (%v)", se.Malformed, tc.malformed, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %q, want it to hold %q", err, tc.want)
			}
		})
	}
}

func TestXMLRPCLimits(t *testing.T) {
	deep := strings.Repeat("<value><array><data>", 40) + strings.Repeat("</data></array></value>", 40)
	in := "<methodCall><methodName>m</methodName><params><param>" + deep + "</param></params></methodCall>"
	_, err := decodeMethodCall([]byte(in), defaultXMLRPCLimits)
	if !errors.Is(err, errXMLRPCLimit) || !strings.Contains(err.Error(), "nested over 32 deep") {
		t.Errorf("depth: got %v, want a limit error", err)
	}
	// 31 levels is fine.
	deep = strings.Repeat("<value><array><data>", 31) + strings.Repeat("</data></array></value>", 31)
	in = "<methodCall><methodName>m</methodName><params><param>" + deep + "</param></params></methodCall>"
	if _, err := decodeMethodCall([]byte(in), defaultXMLRPCLimits); err != nil {
		t.Errorf("31 deep: got %v, want nil", err)
	}
	many := "<methodCall><methodName>m</methodName><params><param><value><array><data>" + strings.Repeat("<value>1</value>", 200) + "</data></array></value></param></params></methodCall>"
	_, err = decodeMethodCall([]byte(many), xmlrpcLimits{MaxDepth: 8, MaxValues: 100, MaxElements: 1000})
	if !errors.Is(err, errXMLRPCLimit) || !strings.Contains(err.Error(), "over 100 values") {
		t.Errorf("values: got %v, want a limit error", err)
	}
	_, err = decodeMethodCall([]byte(many), xmlrpcLimits{MaxDepth: 8, MaxValues: 1000, MaxElements: 50})
	if !errors.Is(err, errXMLRPCLimit) || !strings.Contains(err.Error(), "over 50 elements") {
		t.Errorf("elements: got %v, want a limit error", err)
	}
}

func TestXMLRPCFault(t *testing.T) {
	var b bytes.Buffer
	encodeFault(&b, faultNoMethod, `unknown method "x<y"`)
	want := `<?xml version="1.0" encoding="UTF-8"?>
<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>-32601</int></value></member><member><name>faultString</name><value><string>unknown method &#34;x&lt;y&#34;</string></value></member></struct></value></fault></methodResponse>
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestXMLRPCEncodeRefusesNaN(t *testing.T) {
	var b bytes.Buffer
	if err := encodeResponse(&b, math.NaN()); err == nil {
		t.Error("got nil, want an error for NaN")
	}
	if err := encodeResponse(&b, struct{}{}); err == nil {
		t.Error("got nil, want an error for an unknown type")
	}
}

// FuzzXMLRPC checks that decoding never panics, and that what decodes
// encodes and decodes again to the same values.
func FuzzXMLRPC(f *testing.F) {
	f.Add([]byte(pythonCall))
	f.Add([]byte("<methodCall><methodName>m</methodName><params><param><value><i8>-9</i8></value></param><param><value><struct><member><name>a</name><value><array><data><value><nil/></value></data></array></value></member></struct></value></param></params></methodCall>"))
	f.Add([]byte("<?xml version='1.0' encoding='latin-1'?><methodCall><methodName>m</methodName><params><param><value>\xe9\x01</value></param></params></methodCall>"))
	f.Add([]byte("<methodCall><methodName>m</methodName><params><param><value><dateTime.iso8601>2009-11-22T10:00:05+02:00</dateTime.iso8601></value></param><param><value><double>1e300</double></value></param></params></methodCall>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		call, err := decodeMethodCall(data, xmlrpcLimits{MaxDepth: 16, MaxValues: 10000, MaxElements: 40000})
		if err != nil {
			return
		}
		if !encodable(call.Params) {
			return
		}
		again, err := encodeCall(call.Method, call.Params...)
		if err != nil {
			t.Fatalf("encode %#v: %v", call.Params, err)
		}
		call2, err := decodeMethodCall(again, defaultXMLRPCLimits)
		if err != nil {
			t.Fatalf("decode of our own encoding %q: %v", again, err)
		}
		if call2.Method != strings.TrimSpace(call.Method) && encodableString(call.Method) {
			t.Errorf("method: got %q, want %q", call2.Method, call.Method)
		}
		if !reflect.DeepEqual(normalize(call2.Params), normalize(call.Params)) {
			t.Errorf("round trip:\ngot  %#v\nwant %#v", call2.Params, call.Params)
		}
	})
}

// encodable reports whether v survives a round trip unchanged: no NaN or
// infinity, no string with a character XML cannot carry.
func encodable(v any) bool {
	switch v := v.(type) {
	case float64:
		return !math.IsNaN(v) && !math.IsInf(v, 0)
	case string:
		return encodableString(v)
	case []any:
		for _, e := range v {
			if !encodable(e) {
				return false
			}
		}
	case map[string]any:
		for k, e := range v {
			if !encodableString(k) || !encodable(e) {
				return false
			}
		}
	}
	return true
}

func encodableString(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0xD800 && r < 0xE000 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
	}
	return true
}

// normalize makes times comparable: UTC, whole seconds (what is sent).
func normalize(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Truncate(time.Second)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// BenchmarkXMLRPCDecode decodes an add_results call of 200 steps, beside
// the baseline of encoding/xml merely reading the same tokens.
func BenchmarkXMLRPCDecode(b *testing.B) {
	steps := make([]any, 200)
	for i := range steps {
		steps[i] = map[string]any{"type": "test", "name": "test", "status": int64(i % 2), "duration": 1.5,
			"command": "python setup.py test", "output": strings.Repeat("output line\n", 40), "errout": nil}
	}
	data, err := encodeCall("add_results", map[string]any{"package": "p", "host": "h", "arch": "a", "tags": []any{"x"}}, steps)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline=tokens", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			d := xml.NewDecoder(bytes.NewReader(data))
			for {
				if _, err := d.Token(); err != nil {
					break
				}
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeMethodCall(data, defaultXMLRPCLimits); err != nil {
				b.Fatal(err)
			}
		}
	})
}
