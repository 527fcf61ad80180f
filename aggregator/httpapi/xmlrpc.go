package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file is a small XML-RPC codec: methodCall parsing and
// methodResponse/fault writing, with the value types of the spec plus nil
// (Python's allow_none) and i8.
//
// Decoded values are Go values: string, int64, bool, float64, time.Time
// (dateTime.iso8601, read as UTC when it has no zone), []byte (base64),
// map[string]any (struct), []any (array) and nil.
//
// encoding/xml never fetches external entities nor expands DTD entities;
// the decoder also refuses directives (<!DOCTYPE …>) and caps the nesting
// depth of values and the number of values and elements.

// xmlrpcLimits cap what one call may hold.
type xmlrpcLimits struct {
	// MaxDepth caps the nesting of values (a struct in an array in a
	// struct… ); a parameter is at depth 1.
	MaxDepth int
	// MaxValues caps the number of <value> elements; MaxElements caps
	// every element.
	MaxValues   int
	MaxElements int
}

// defaultXMLRPCLimits leave room for an old client's bag with big outputs
// and for one of ours with many tests (each test is a struct of about ten
// values).
var defaultXMLRPCLimits = xmlrpcLimits{MaxDepth: 32, MaxValues: 4 << 20, MaxElements: 16 << 20}

// methodCall is a decoded XML-RPC request.
type methodCall struct {
	Method string
	Params []any
}

// xmlrpcSyntaxError is a malformed request: not XML, not a methodCall, or
// over a limit. Line is 1-based, 0 when unknown.
type xmlrpcSyntaxError struct {
	Line int
	Msg  string
	// Malformed is set when the input is not well-formed XML, clear when
	// it is XML but not a methodCall.
	Malformed bool
}

func (e *xmlrpcSyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// errXMLRPCLimit marks errors of a limit being exceeded.
var errXMLRPCLimit = errors.New("over a limit")

// xmlrpcLimitError is a request over one of xmlrpcLimits.
type xmlrpcLimitError struct{ Msg string }

func (e *xmlrpcLimitError) Error() string { return e.Msg }
func (e *xmlrpcLimitError) Is(target error) bool {
	return target == errXMLRPCLimit
}

// pua is where control characters, which XML 1.0 forbids but old clients
// send raw (Python's xmlrpc escapes only &, < and >), are kept while
// parsing: C0 control c (other than tab, LF, CR) travels as U+E000+c.
const pua = 0xE000

// prepareXML makes a request body parseable without losing what old
// clients send: it maps control characters into the private use area (see
// pua), turns a Latin-1 body into UTF-8, and replaces bytes that are not
// UTF-8 in a UTF-8 body with U+FFFD. remapped says whether any control
// character was moved.
func prepareXML(data []byte) (out []byte, remapped bool) {
	enc := strings.ToLower(declaredEncoding(data))
	if enc == "iso-8859-1" || enc == "latin-1" || enc == "latin1" || enc == "iso8859-1" {
		var b bytes.Buffer
		b.Grow(len(data) + len(data)/8)
		for _, c := range data {
			b.WriteRune(rune(c))
		}
		data = b.Bytes()
	} else if !utf8.Valid(data) {
		data = bytes.ToValidUTF8(data, []byte("\uFFFD"))
	}
	n := 0
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			n++
		}
	}
	if n == 0 {
		return data, false
	}
	out = make([]byte, 0, len(data)+2*n)
	for _, c := range data {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			out = utf8.AppendRune(out, pua+rune(c))
			continue
		}
		out = append(out, c)
	}
	return out, true
}

// declaredEncoding returns the encoding named in an XML declaration, or "".
func declaredEncoding(data []byte) string {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !bytes.HasPrefix(data, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(data, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(data[:end])
	i := strings.Index(decl, "encoding")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(decl[i+len("encoding"):], " \t\r\n")
	rest, ok := strings.CutPrefix(rest, "=")
	if !ok {
		return ""
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || (rest[0] != '"' && rest[0] != '\'') {
		return ""
	}
	q := rest[0]
	if j := strings.IndexByte(rest[1:], q); j >= 0 {
		return rest[1 : 1+j]
	}
	return ""
}

// decodeMethodCall parses an XML-RPC methodCall.
func decodeMethodCall(data []byte, lim xmlrpcLimits) (*methodCall, error) {
	data, remapped := prepareXML(data)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "iso-8859-1", "latin-1", "latin1", "iso8859-1", "us-ascii", "ascii":
			return r, nil // prepareXML made it UTF-8 already
		}
		return nil, fmt.Errorf("unsupported encoding %q (send UTF-8)", label)
	}
	x := &xdec{d: d, lim: lim, remap: remapped}
	call, err := x.methodCall()
	if err != nil {
		var le *xmlrpcLimitError
		if errors.As(err, &le) {
			return nil, err
		}
		var se *xmlrpcSyntaxError
		if errors.As(err, &se) {
			return nil, err
		}
		line, _ := d.InputPos()
		msg := err.Error()
		if err == io.EOF {
			msg = "unexpected end of input"
		}
		return nil, &xmlrpcSyntaxError{Line: line, Msg: strings.TrimPrefix(msg, "XML syntax error on line "+strconv.Itoa(line)+": "), Malformed: true}
	}
	return call, nil
}

type xdec struct {
	d        *xml.Decoder
	lim      xmlrpcLimits
	values   int
	elements int
	remap    bool
}

func (x *xdec) errorf(format string, args ...any) error {
	line, _ := x.d.InputPos()
	return &xmlrpcSyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// next returns the next token that matters: comments and processing
// instructions are skipped, directives refused.
func (x *xdec) next() (xml.Token, error) {
	for {
		t, err := x.d.Token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.Directive:
			return nil, x.errorf("directives such as <!DOCTYPE> are not allowed")
		case xml.StartElement:
			x.elements++
			if x.elements > x.lim.MaxElements {
				return nil, &xmlrpcLimitError{Msg: fmt.Sprintf("the call holds over %d elements", x.lim.MaxElements)}
			}
			return t, nil
		default:
			return t, nil
		}
	}
}

// nextElement returns the next start or end element, refusing text other
// than whitespace.
func (x *xdec) nextElement() (xml.Token, error) {
	for {
		t, err := x.next()
		if err != nil {
			return nil, err
		}
		if cd, ok := t.(xml.CharData); ok {
			if len(bytes.TrimSpace(cd)) > 0 {
				return nil, x.errorf("unexpected text %q", clip(string(cd)))
			}
			continue
		}
		return t, nil
	}
}

// expect reads the start of element name.
func (x *xdec) expect(name string) error {
	t, err := x.nextElement()
	if err != nil {
		return err
	}
	se, ok := t.(xml.StartElement)
	if !ok || se.Name.Local != name {
		return x.errorf("want <%s>, got %s", name, describeToken(t))
	}
	return nil
}

// expectEnd reads the end of the current element.
func (x *xdec) expectEnd(name string) error {
	t, err := x.nextElement()
	if err != nil {
		return err
	}
	if _, ok := t.(xml.EndElement); !ok {
		return x.errorf("want </%s>, got %s", name, describeToken(t))
	}
	return nil
}

func (x *xdec) methodCall() (*methodCall, error) {
	if err := x.expect("methodCall"); err != nil {
		return nil, err
	}
	call := &methodCall{Params: []any{}}
	seenName := false
	for {
		t, err := x.nextElement()
		if err != nil {
			return nil, err
		}
		if _, ok := t.(xml.EndElement); ok {
			break
		}
		se := t.(xml.StartElement)
		switch se.Name.Local {
		case "methodName":
			if seenName {
				return nil, x.errorf("two <methodName> elements")
			}
			seenName = true
			if call.Method, err = x.text(); err != nil {
				return nil, err
			}
			call.Method = strings.TrimSpace(call.Method)
		case "params":
			if err := x.params(call); err != nil {
				return nil, err
			}
		default:
			return nil, x.errorf("unexpected <%s> in <methodCall>", se.Name.Local)
		}
	}
	if !seenName || call.Method == "" {
		return nil, x.errorf("the call has no <methodName>")
	}
	// Nothing but whitespace, comments and processing instructions may
	// follow.
	for {
		t, err := x.next()
		if err == io.EOF {
			return call, nil
		}
		if err != nil {
			return nil, err
		}
		if cd, ok := t.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			return nil, x.errorf("unexpected %s after </methodCall>", describeToken(t))
		}
	}
}

func (x *xdec) params(call *methodCall) error {
	for {
		t, err := x.nextElement()
		if err != nil {
			return err
		}
		if _, ok := t.(xml.EndElement); ok {
			return nil
		}
		if se := t.(xml.StartElement); se.Name.Local != "param" {
			return x.errorf("want <param>, got <%s>", se.Name.Local)
		}
		if err := x.expect("value"); err != nil {
			return err
		}
		v, err := x.value(1)
		if err != nil {
			return err
		}
		call.Params = append(call.Params, v)
		if err := x.expectEnd("param"); err != nil {
			return err
		}
	}
}

// value reads a value whose <value> start was just read, through </value>.
func (x *xdec) value(depth int) (any, error) {
	if depth > x.lim.MaxDepth {
		return nil, &xmlrpcLimitError{Msg: fmt.Sprintf("values are nested over %d deep", x.lim.MaxDepth)}
	}
	x.values++
	if x.values > x.lim.MaxValues {
		return nil, &xmlrpcLimitError{Msg: fmt.Sprintf("the call holds over %d values", x.lim.MaxValues)}
	}
	var text []byte
	var v any
	typed := false
	for {
		t, err := x.next()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if typed {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, x.errorf("text %q after a typed value", clip(string(t)))
				}
				continue
			}
			text = append(text, t...)
		case xml.StartElement:
			if typed {
				return nil, x.errorf("a <value> holds one typed value, got a second <%s>", t.Name.Local)
			}
			if len(bytes.TrimSpace(text)) > 0 {
				return nil, x.errorf("text %q before <%s>", clip(string(text)), t.Name.Local)
			}
			typed = true
			if v, err = x.typed(t.Name.Local, depth); err != nil {
				return nil, err
			}
		case xml.EndElement:
			if !typed {
				return x.unmap(string(text)), nil // a bare <value>text</value> is a string
			}
			return v, nil
		}
	}
}

// isoLayouts are the dateTime.iso8601 forms accepted: Python's, then the
// extended ISO 8601 ones other clients send.
var isoLayouts = []string{
	"20060102T15:04:05", "20060102T15:04:05Z07:00", "20060102T150405", "20060102T150405Z07:00",
	"2006-01-02T15:04:05", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00",
}

// typed reads the value inside <name>…</name>, whose start was just read.
func (x *xdec) typed(name string, depth int) (any, error) {
	switch name {
	case "string":
		return x.text()
	case "int", "i4", "i8", "i1", "i2":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, x.errorf("bad <%s> %q: want a whole number in 64 bits", name, clip(s))
		}
		return n, nil
	case "boolean":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		switch strings.TrimSpace(s) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, x.errorf("bad <boolean> %q: want 0 or 1", clip(s))
	case "double":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, x.errorf("bad <double> %q", clip(s))
		}
		return f, nil
	case "dateTime.iso8601":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		s = strings.TrimSpace(s)
		for _, l := range isoLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t, nil
			}
		}
		return nil, x.errorf("bad <dateTime.iso8601> %q: want e.g. 20260102T15:04:05", clip(s))
	case "base64":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, x.errorf("bad <base64>: %v", err)
		}
		return b, nil
	case "nil":
		s, err := x.text()
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s) != "" {
			return nil, x.errorf("<nil> holds text %q", clip(s))
		}
		return nil, nil
	case "struct":
		return x.structValue(depth)
	case "array":
		return x.arrayValue(depth)
	}
	return nil, x.errorf("unknown value type <%s>", name)
}

// text reads character data through the end of the current element,
// refusing child elements.
func (x *xdec) text() (string, error) {
	var b []byte
	for {
		t, err := x.next()
		if err != nil {
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return x.unmap(string(b)), nil
		case xml.StartElement:
			return "", x.errorf("unexpected <%s> inside text", t.Name.Local)
		}
	}
}

// unmap restores the control characters prepareXML moved.
func (x *xdec) unmap(s string) string {
	if !x.remap || !strings.ContainsFunc(s, isMapped) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isMapped(r) {
			return r - pua
		}
		return r
	}, s)
}

func isMapped(r rune) bool { return r >= pua && r < pua+0x20 }

func (x *xdec) structValue(depth int) (map[string]any, error) {
	m := map[string]any{}
	for {
		t, err := x.nextElement()
		if err != nil {
			return nil, err
		}
		if _, ok := t.(xml.EndElement); ok {
			return m, nil
		}
		if se := t.(xml.StartElement); se.Name.Local != "member" {
			return nil, x.errorf("want <member> in <struct>, got <%s>", se.Name.Local)
		}
		var name string
		var v any
		hasName, hasValue := false, false
		for {
			t, err := x.nextElement()
			if err != nil {
				return nil, err
			}
			if _, ok := t.(xml.EndElement); ok {
				break
			}
			switch se := t.(xml.StartElement); {
			case se.Name.Local == "name" && !hasName:
				hasName = true
				if name, err = x.text(); err != nil {
					return nil, err
				}
			case se.Name.Local == "value" && !hasValue:
				hasValue = true
				if v, err = x.value(depth + 1); err != nil {
					return nil, err
				}
			default:
				return nil, x.errorf("unexpected <%s> in <member>", se.Name.Local)
			}
		}
		if !hasName || !hasValue {
			return nil, x.errorf("a <member> needs a <name> and a <value>")
		}
		m[name] = v
	}
}

func (x *xdec) arrayValue(depth int) ([]any, error) {
	if err := x.expect("data"); err != nil {
		return nil, err
	}
	list := []any{}
	for {
		t, err := x.nextElement()
		if err != nil {
			return nil, err
		}
		if _, ok := t.(xml.EndElement); ok {
			break
		}
		if se := t.(xml.StartElement); se.Name.Local != "value" {
			return nil, x.errorf("want <value> in <data>, got <%s>", se.Name.Local)
		}
		v, err := x.value(depth + 1)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if err := x.expectEnd("array"); err != nil {
		return nil, err
	}
	return list, nil
}

func describeToken(t xml.Token) string {
	switch t := t.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	case xml.CharData:
		return fmt.Sprintf("text %q", clip(string(t)))
	}
	return fmt.Sprintf("%T", t)
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 40 {
		i := 40
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

// encodeResponse writes a methodResponse holding v.
func encodeResponse(b *bytes.Buffer, v any) error {
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><params><param>")
	if err := encodeValue(b, v, 0); err != nil {
		return err
	}
	b.WriteString("</param></params></methodResponse>\n")
	return nil
}

// encodeFault writes a methodResponse holding a fault.
func encodeFault(b *bytes.Buffer, code int, msg string) {
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodResponse><fault>")
	_ = encodeValue(b, map[string]any{"faultCode": int64(code), "faultString": msg}, 0)
	b.WriteString("</fault></methodResponse>\n")
}

// maxEncodeDepth guards against a cycle in what is encoded (a bug).
const maxEncodeDepth = 64

// encodeValue writes v as a <value>.
func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > maxEncodeDepth {
		return fmt.Errorf("xmlrpc: value nested over %d deep", maxEncodeDepth)
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			v = i
		} else if f, err := n.Float64(); err == nil {
			v = f
		} else {
			return fmt.Errorf("xmlrpc: bad number %q", n)
		}
	}
	b.WriteString("<value>")
	switch v := v.(type) {
	case nil:
		b.WriteString("<nil/>")
	case string:
		b.WriteString("<string>")
		escapeText(b, v)
		b.WriteString("</string>")
	case bool:
		if v {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		writeInt(b, int64(v))
	case int64:
		writeInt(b, v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("xmlrpc: cannot send %v as a double", v)
		}
		b.WriteString("<double>")
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		b.WriteString("</double>")
	case time.Time:
		b.WriteString("<dateTime.iso8601>")
		b.WriteString(v.UTC().Format("20060102T15:04:05"))
		b.WriteString("</dateTime.iso8601>")
	case []byte:
		b.WriteString("<base64>")
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteString("</base64>")
	case []string:
		b.WriteString("<array><data>")
		for _, s := range v {
			if err := encodeValue(b, s, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case []any:
		b.WriteString("<array><data>")
		for _, e := range v {
			if err := encodeValue(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteString("</data></array>")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("<struct>")
		for _, k := range keys {
			b.WriteString("<member><name>")
			escapeText(b, k)
			b.WriteString("</name>")
			if err := encodeValue(b, v[k], depth+1); err != nil {
				return err
			}
			b.WriteString("</member>")
		}
		b.WriteString("</struct>")
	default:
		return fmt.Errorf("xmlrpc: cannot send a %T", v)
	}
	b.WriteString("</value>")
	return nil
}

// writeInt writes <int> when n fits in 32 bits (the spec's int), <i8>
// otherwise (Python reads both).
func writeInt(b *bytes.Buffer, n int64) {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		b.WriteString("<int>")
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteString("</int>")
		return
	}
	b.WriteString("<i8>")
	b.WriteString(strconv.FormatInt(n, 10))
	b.WriteString("</i8>")
}

// escapeText writes s escaped for XML text. Characters XML 1.0 cannot
// carry (most control characters) become U+FFFD, so that any client's
// parser accepts the answer.
func escapeText(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s))
}
