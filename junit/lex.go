package junit

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

// lexer is the decoder's XML tokenizer: the raw tokens of encoding/xml's
// Decoder.RawToken in strict mode with HTML entities, with the same errors,
// line numbers and offsets, but without allocating per token. A token's
// names, attributes and text live in buffers reused by the next token;
// callers copy what they keep. A text token longer than longText can be
// streamed instead of held (see textCap).
//
// It reads a fixed window of the input and keeps one byte behind the read
// position, so that a byte can always be pushed back.
type lexer struct {
	src  io.Reader
	win  []byte
	pos  int   // next byte in win
	end  int   // end of the bytes read into win
	base int64 // input offset of win[0]
	line int
	err  error // sticky: the error every later call returns
	// charset opens a reader decoding a declared encoding.
	charset func(string, io.Reader) (io.Reader, error)

	// The current token.
	kind   tokKind
	prefix []byte // the name's prefix, "" when none
	local  []byte // the name's local part
	attrs  []lexAttr
	text   []byte

	nbuf   []byte // the element name
	abuf   []byte // attribute names and values
	tbuf   []byte // text
	closeN []byte // the name a self-closing element's end returns
	closeS int    // the length of its prefix, -1 when none

	needClose bool

	// textCap, when positive, bounds the memory a text token takes: one
	// longer than longText bytes is not held whole but streamed through
	// tail, which keeps its length and its last textCap bytes, while text
	// holds its first headSize bytes; long and blank then describe it.
	// Zero holds every text whole.
	textCap int
	long    bool  // the current text token was streamed: text is its head
	blank   bool  // the streamed token is blank (bytes.TrimSpace leaves nothing)
	tail    spool // the streamed token's length and tail
	head    []byte
	// badText is the first invalid character met in a streamed token,
	// reported when the token ends, where encoding/xml reports it.
	badText string
}

type tokKind uint8

const (
	tokOther tokKind = iota // comment, processing instruction, directive
	tokStart
	tokEnd
	tokText // text or CDATA
)

// lexAttr locates an attribute in lexer.abuf.
type lexAttr struct {
	space, local, value [2]int32
}

const lexWindow = 64 << 10

// longText is the length past which a text token is streamed when the
// lexer's textCap allows it; a variable for the tests.
var longText = 64 << 10

func newLexer(r io.Reader, charset func(string, io.Reader) (io.Reader, error)) *lexer {
	return &lexer{src: r, win: make([]byte, lexWindow), line: 1, charset: charset, closeS: -1}
}

// offset is the input offset of the next byte, as xml.Decoder.InputOffset.
func (l *lexer) offset() int64 { return l.base + int64(l.pos) }

func (l *lexer) syntaxError(msg string) error {
	return &xml.SyntaxError{Msg: msg, Line: l.line}
}

// fill reads more input, keeping the byte before pos; it reports whether
// a byte is available, leaving the read error in l.err when not.
func (l *lexer) fill() bool {
	keep := 0
	if l.pos > 0 {
		keep = 1
	}
	n := copy(l.win, l.win[l.pos-keep:l.end])
	l.base += int64(l.pos - keep)
	l.pos, l.end = keep, n
	for tries := 0; l.end == n; tries++ {
		m, err := l.src.Read(l.win[l.end:])
		if m < 0 || m > len(l.win)-l.end {
			l.err = io.ErrNoProgress
			return false
		}
		l.end += m
		if m > 0 {
			return true
		}
		if err != nil {
			l.err = err
			return false
		}
		if tries > 100 {
			l.err = io.ErrNoProgress
			return false
		}
	}
	return true
}

func (l *lexer) getc() (byte, bool) {
	if l.err != nil {
		return 0, false
	}
	if l.pos >= l.end && !l.fill() {
		return 0, false
	}
	b := l.win[l.pos]
	l.pos++
	if b == '\n' {
		l.line++
	}
	return b, true
}

func (l *lexer) mustgetc() (byte, bool) {
	b, ok := l.getc()
	if !ok && l.err == io.EOF {
		l.err = l.syntaxError("unexpected EOF")
	}
	return b, ok
}

func (l *lexer) ungetc(b byte) {
	if b == '\n' {
		l.line--
	}
	l.pos--
}

// space skips blanks.
func (l *lexer) space() {
	for {
		b, ok := l.getc()
		if !ok {
			return
		}
		switch b {
		case ' ', '\r', '\n', '\t':
		default:
			l.ungetc(b)
			return
		}
	}
}

// next reads the next token; it returns io.EOF at the end of the input, an
// *xml.SyntaxError for malformed XML and other errors as they come.
func (l *lexer) next() error {
	if l.err != nil {
		return l.err
	}
	if l.needClose {
		l.needClose = false
		l.kind = tokEnd
		l.setName(l.closeN, l.closeS)
		return nil
	}
	b, ok := l.getc()
	if !ok {
		return l.err
	}
	if b != '<' {
		l.ungetc(b)
		data, ok := l.readText(l.tbuf[:0], -1, false)
		l.tbuf = data
		if !ok {
			return l.err
		}
		l.kind, l.text = tokText, data
		if l.long {
			l.text = l.head
		}
		return nil
	}
	if b, ok = l.mustgetc(); !ok {
		return l.err
	}
	switch b {
	case '/':
		var colon int
		l.nbuf, colon, ok = l.nsname(l.nbuf[:0])
		if !ok {
			if l.err == nil {
				l.err = l.syntaxError("expected element name after </")
			}
			return l.err
		}
		l.setName(l.nbuf, colon)
		l.space()
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if b != '>' {
			l.err = l.syntaxError("invalid characters between </" + string(l.local) + " and >")
			return l.err
		}
		l.kind = tokEnd
		return nil
	case '?':
		return l.procInst()
	case '!':
		return l.bang()
	}
	l.ungetc(b)
	var colon int
	l.nbuf, colon, ok = l.nsname(l.nbuf[:0])
	if !ok {
		if l.err == nil {
			l.err = l.syntaxError("expected element name after <")
		}
		return l.err
	}
	l.setName(l.nbuf, colon)
	l.attrs = l.attrs[:0]
	l.abuf = l.abuf[:0]
	empty := false
	for {
		l.space()
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if b == '/' {
			empty = true
			if b, ok = l.mustgetc(); !ok {
				return l.err
			}
			if b != '>' {
				l.err = l.syntaxError("expected /> in element")
				return l.err
			}
			break
		}
		if b == '>' {
			break
		}
		l.ungetc(b)
		var a lexAttr
		start := len(l.abuf)
		var colon int
		l.abuf, colon, ok = l.nsname(l.abuf)
		if !ok {
			if l.err == nil {
				l.err = l.syntaxError("expected attribute name in element")
			}
			return l.err
		}
		nameEnd := int32(len(l.abuf))
		if colon >= 0 {
			a.space = [2]int32{int32(start), int32(start + colon)}
			a.local = [2]int32{int32(start + colon + 1), nameEnd}
		} else {
			a.space = [2]int32{int32(start), int32(start)}
			a.local = [2]int32{int32(start), nameEnd}
		}
		l.space()
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if b != '=' {
			l.err = l.syntaxError("attribute name without = in element")
			return l.err
		}
		l.space()
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if b != '"' && b != '\'' {
			l.err = l.syntaxError("unquoted or missing attribute value in element")
			return l.err
		}
		vstart := len(l.abuf)
		data, ok := l.readText(l.abuf, int(b), false)
		l.abuf = data
		if !ok {
			return l.err
		}
		a.value = [2]int32{int32(vstart), int32(len(l.abuf))}
		l.attrs = append(l.attrs, a)
	}
	l.setName(l.nbuf, colon)
	if empty {
		l.needClose = true
		l.closeN = append(l.closeN[:0], l.nbuf...)
		l.closeS = colon
	}
	l.kind = tokStart
	return nil
}

// setName sets the token's name from a qualified name whose colon is at
// colon (-1: no prefix).
func (l *lexer) setName(n []byte, colon int) {
	if colon >= 0 {
		l.prefix, l.local = n[:colon], n[colon+1:]
	} else {
		l.prefix, l.local = n[:0], n
	}
}

// attr returns the value of the attribute with the given local name.
func (l *lexer) attr(name string) ([]byte, bool) {
	for i := range l.attrs {
		a := &l.attrs[i]
		if string(l.abuf[a.local[0]:a.local[1]]) == name {
			return l.abuf[a.value[0]:a.value[1]], true
		}
	}
	return nil, false
}

// attrString is attr as a string, "" when absent.
func (l *lexer) attrString(name string) string {
	v, _ := l.attr(name)
	return string(v)
}

// qname is the token's name as written.
func (l *lexer) qname() string {
	if len(l.prefix) > 0 {
		return string(l.prefix) + ":" + string(l.local)
	}
	return string(l.local)
}

// nsname appends a name to dst, as xml.Decoder.nsname: it returns the
// index, from the name's start, of the colon splitting prefix and local
// name, or -1.
func (l *lexer) nsname(dst []byte) ([]byte, int, bool) {
	start := len(dst)
	dst, ok := l.name(dst)
	if !ok {
		return dst, -1, false
	}
	n := dst[start:]
	switch bytes.Count(n, []byte{':'}) {
	case 0:
		return dst, -1, true
	case 1:
		i := bytes.IndexByte(n, ':')
		if i == 0 || i == len(n)-1 {
			return dst, -1, true
		}
		return dst, i, true
	}
	return dst, -1, false
}

// name appends a name to dst, as xml.Decoder.name.
func (l *lexer) name(dst []byte) ([]byte, bool) {
	start := len(dst)
	dst, ok := l.readName(dst)
	if !ok {
		return dst, false
	}
	if !isName(dst[start:]) {
		l.err = l.syntaxError("invalid XML name: " + string(dst[start:]))
		return dst, false
	}
	return dst, true
}

// readName appends the bytes of a name to dst, as xml.Decoder.readName.
func (l *lexer) readName(dst []byte) ([]byte, bool) {
	b, ok := l.mustgetc()
	if !ok {
		return dst, false
	}
	if b < utf8.RuneSelf && !isNameByte(b) {
		l.ungetc(b)
		return dst, false
	}
	dst = append(dst, b)
	for {
		if b, ok = l.mustgetc(); !ok {
			return dst, false
		}
		if b < utf8.RuneSelf && !isNameByte(b) {
			l.ungetc(b)
			return dst, true
		}
		dst = append(dst, b)
	}
}

func isNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '_' || c == ':' || c == '.' || c == '-'
}

// isName reports whether s is an XML name. ASCII names are checked here;
// others, rare, are handed to encoding/xml itself, whose tables decide.
func isName(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	ascii := true
	for _, c := range s {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		c := s[0]
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == ':'
	}
	// Colons are name characters anywhere; encoding/xml would read two
	// of them as a bad prefix.
	d := xml.NewDecoder(strings.NewReader("<" + strings.ReplaceAll(string(s), ":", "a") + "/>"))
	tok, err := d.RawToken()
	if err != nil {
		return false
	}
	se, ok := tok.(xml.StartElement)
	return ok && len(se.Attr) == 0
}

// procInst reads a processing instruction after "<?"; the XML declaration
// may switch the input's encoding.
func (l *lexer) procInst() error {
	target, ok := l.name(l.nbuf[:0])
	l.nbuf = target
	if !ok {
		if l.err == nil {
			l.err = l.syntaxError("expected target name after <?")
		}
		return l.err
	}
	l.space()
	data := l.tbuf[:0]
	var b0 byte
	for {
		b, ok := l.mustgetc()
		if !ok {
			l.tbuf = data
			return l.err
		}
		data = append(data, b)
		if b0 == '?' && b == '>' {
			break
		}
		b0 = b
	}
	l.tbuf = data
	l.kind = tokOther
	if string(target) != "xml" {
		return nil
	}
	content := string(data[:len(data)-2])
	if ver := procInstParam("version", content); ver != "" && ver != "1.0" {
		l.err = fmt.Errorf("xml: unsupported version %q; only version 1.0 is supported", ver)
		return l.err
	}
	enc := procInstParam("encoding", content)
	if enc == "" || strings.EqualFold(enc, "utf-8") {
		return nil
	}
	// The rest of the input, the bytes read ahead included, goes through
	// the decoding reader.
	rest := bytes.Clone(l.win[l.pos:l.end])
	newr, err := l.charset(enc, io.MultiReader(bytes.NewReader(rest), l.src))
	if err != nil {
		l.err = fmt.Errorf("xml: opening charset %q: %w", enc, err)
		return l.err
	}
	l.src = newr
	l.base += int64(l.pos)
	l.pos, l.end = 0, 0
	return nil
}

// procInstParam is encoding/xml's procInst: the value of param="…" or
// param='…' in s, "" if not found.
func procInstParam(param, s string) string {
	param = param + "="
	lenp := len(param)
	i := 0
	var sep byte
	for i < len(s) {
		sub := s[i:]
		k := strings.Index(sub, param)
		if k < 0 || lenp+k >= len(sub) {
			return ""
		}
		i += lenp + k + 1
		if c := sub[lenp+k]; c == '\'' || c == '"' {
			sep = c
			break
		}
	}
	if sep == 0 {
		return ""
	}
	j := strings.IndexByte(s[i:], sep)
	if j < 0 {
		return ""
	}
	return s[i : i+j]
}

// bang reads what follows "<!": a comment, a CDATA section or a directive.
func (l *lexer) bang() error {
	b, ok := l.mustgetc()
	if !ok {
		return l.err
	}
	switch b {
	case '-':
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if b != '-' {
			l.err = l.syntaxError("invalid sequence <!- not part of <!--")
			return l.err
		}
		var b0, b1 byte
		for {
			if b, ok = l.mustgetc(); !ok {
				return l.err
			}
			if b0 == '-' && b1 == '-' {
				if b != '>' {
					l.err = l.syntaxError(`invalid sequence "--" not allowed in comments`)
					return l.err
				}
				break
			}
			b0, b1 = b1, b
		}
		l.kind = tokOther
		return nil
	case '[':
		for i := 0; i < 6; i++ {
			if b, ok = l.mustgetc(); !ok {
				return l.err
			}
			if b != "CDATA["[i] {
				l.err = l.syntaxError("invalid <![ sequence")
				return l.err
			}
		}
		data, ok := l.readText(l.tbuf[:0], -1, true)
		l.tbuf = data
		if !ok {
			return l.err
		}
		l.kind, l.text = tokText, data
		if l.long {
			l.text = l.head
		}
		return nil
	}
	// A directive (<!DOCTYPE …>): skipped, quoted angle brackets and
	// comments aside.
	var inquote byte
	depth := 0
	for {
		if b, ok = l.mustgetc(); !ok {
			return l.err
		}
		if inquote == 0 && b == '>' && depth == 0 {
			break
		}
	handle:
		switch {
		case b == inquote:
			inquote = 0
		case inquote != 0:
		case b == '\'' || b == '"':
			inquote = b
		case b == '>':
			depth--
		case b == '<':
			const s = "!--"
			for i := 0; i < len(s); i++ {
				if b, ok = l.mustgetc(); !ok {
					return l.err
				}
				if b != s[i] {
					depth++
					goto handle
				}
			}
			var b0, b1 byte
			for {
				if b, ok = l.mustgetc(); !ok {
					return l.err
				}
				if b0 == '-' && b1 == '-' && b == '>' {
					break
				}
				b0, b1 = b1, b
			}
		}
	}
	l.kind = tokOther
	return nil
}

// plain marks the bytes text copies as they are: printable ASCII and tab
// and newline, but for the bytes that end or escape text.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = true
	}
	t['\t'], t['\n'] = true, true
	t['<'], t['&'], t[']'], t['"'], t['\''] = false, false, false, false, false
	return t
}()

// readText appends character data to dst, as xml.Decoder.text: up to a
// '<' (quote < 0, not cdata), the closing quote (quote >= 0) or "]]>"
// (cdata), entities replaced and "\r\n" and "\r" made "\n". On failure it
// returns false and leaves the error in l.err.
//
// When l.textCap allows it, text longer than longText is streamed through
// l.tail as it is read (see spill), so that its memory does not grow with
// it, and dst comes back without it.
func (l *lexer) readText(dst []byte, quote int, cdata bool) ([]byte, bool) {
	start := len(dst)
	var b0, b1 byte
	check := false // bytes other than plain ones were written
	trunc := 0
	stream := quote < 0 && l.textCap > 0
	if quote < 0 {
		l.long = false
	}
Input:
	for {
		if stream && len(dst)-start >= longText {
			dst = l.spill(dst, start, check, false)
		}
		// Fast path: a run of plain bytes.
		if l.err == nil && l.pos < l.end && b1 != '\r' && b1 != ']' {
			i, lines := l.pos, 0
			w := l.win[:l.end]
			for i < len(w) && plain[w[i]] {
				if w[i] == '\n' {
					lines++
				}
				i++
			}
			if i > l.pos {
				dst = append(dst, w[l.pos:i]...)
				b0, b1 = 0, w[i-1]
				l.line += lines
				l.pos = i
				continue
			}
		}
		b, ok := l.getc()
		if !ok {
			if cdata {
				if l.err == io.EOF {
					l.err = l.syntaxError("unexpected EOF in CDATA section")
				}
				return dst, false
			}
			break Input
		}
		if quote < 0 && b0 == ']' && b1 == ']' && b == '>' {
			if cdata {
				trunc = 2
				break Input
			}
			l.err = l.syntaxError("unescaped ]]> not in CDATA section")
			return dst, false
		}
		if b == '<' && !cdata {
			if quote >= 0 {
				l.err = l.syntaxError("unescaped < inside quoted string")
				return dst, false
			}
			l.ungetc('<')
			break Input
		}
		if quote >= 0 && b == byte(quote) {
			break Input
		}
		if b == '&' && !cdata {
			before := len(dst)
			dst = append(dst, '&')
			var text string
			var haveText bool
			var r rune
			if b, ok = l.mustgetc(); !ok {
				return dst, false
			}
			if b == '#' {
				dst = append(dst, b)
				if b, ok = l.mustgetc(); !ok {
					return dst, false
				}
				base := 10
				if b == 'x' {
					base = 16
					dst = append(dst, b)
					if b, ok = l.mustgetc(); !ok {
						return dst, false
					}
				}
				ds := len(dst)
				for '0' <= b && b <= '9' || base == 16 && 'a' <= b && b <= 'f' || base == 16 && 'A' <= b && b <= 'F' {
					dst = append(dst, b)
					if b, ok = l.mustgetc(); !ok {
						return dst, false
					}
				}
				if b != ';' {
					l.ungetc(b)
				} else {
					n, err := strconv.ParseUint(string(dst[ds:]), base, 64)
					dst = append(dst, ';')
					if err == nil && n <= unicode.MaxRune {
						r, haveText = rune(n), true
					}
				}
				if haveText {
					dst = utf8.AppendRune(dst[:before], r)
					check = true
					b0, b1 = 0, 0
					continue Input
				}
			} else {
				l.ungetc(b)
				if dst, ok = l.readName(dst); !ok && l.err != nil {
					return dst, false
				}
				if b, ok = l.mustgetc(); !ok {
					return dst, false
				}
				if b != ';' {
					l.ungetc(b)
				} else {
					name := dst[before+1:]
					if isName(name) {
						switch string(name) {
						case "lt":
							text, haveText = "<", true
						case "gt":
							text, haveText = ">", true
						case "amp":
							text, haveText = "&", true
						case "apos":
							text, haveText = "'", true
						case "quot":
							text, haveText = `"`, true
						default:
							text, haveText = xml.HTMLEntity[string(name)]
						}
					}
					dst = append(dst, ';')
				}
			}
			if haveText {
				dst = append(dst[:before], text...)
				check = true
				b0, b1 = 0, 0
				continue Input
			}
			ent := string(dst[before:])
			if ent[len(ent)-1] != ';' {
				ent += " (no semicolon)"
			}
			l.err = l.syntaxError("invalid character entity " + ent)
			return dst, false
		}
		if b == '\r' {
			dst = append(dst, '\n')
		} else if b1 == '\r' && b == '\n' {
			// "\r\n": the "\n" is written already.
		} else {
			dst = append(dst, b)
			if b >= utf8.RuneSelf || b < ' ' {
				check = true
			}
		}
		b0, b1 = b1, b
	}
	dst = dst[:len(dst)-trunc]
	if stream && l.long {
		dst = l.spill(dst, start, check, true)
		if l.badText != "" {
			l.err = l.syntaxError(l.badText)
			return dst, false
		}
		return dst, true
	}
	if check {
		if msg := badChar(dst[start:]); msg != "" {
			l.err = l.syntaxError(msg)
			return dst, false
		}
	}
	return dst, true
}

// spill moves the text read so far, dst[start:], into the streamed token
// (l.head, l.tail, l.blank, l.badText), and returns dst without it. Unless
// final, it keeps the last two bytes (a CDATA section's "]]" may turn out
// to be its end) and a rune cut in two, so that every piece is whole runes:
// bytes.TrimSpace and the character checks then say of the pieces what
// they would of the whole text.
func (l *lexer) spill(dst []byte, start int, check, final bool) []byte {
	cut := len(dst)
	if !final {
		cut -= 2
		for cut > start && !utf8.RuneStart(dst[cut]) {
			cut--
		}
		if cut <= start {
			return dst
		}
	}
	piece := dst[start:cut]
	if !l.long {
		l.long, l.blank, l.badText = true, true, ""
		l.head = l.head[:0]
		l.tail.reset(l.textCap)
	}
	if len(l.head) < headSize {
		l.head = append(l.head, piece[:min(len(piece), headSize-len(l.head))]...)
	}
	if l.blank && len(bytes.TrimSpace(piece)) > 0 {
		l.blank = false
	}
	if check && l.badText == "" {
		l.badText = badChar(piece)
	}
	l.tail.write(piece)
	return append(dst[:start], dst[cut:]...)
}

// badChar returns the syntax error encoding/xml gives for the first byte
// sequence of text that is not UTF-8 or not an XML character, "" if none.
func badChar(text []byte) string {
	for len(text) > 0 {
		if c := text[0]; c < utf8.RuneSelf {
			if c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D {
				return fmt.Sprintf("illegal character code %U", rune(c))
			}
			text = text[1:]
			continue
		}
		r, size := utf8.DecodeRune(text)
		if r == utf8.RuneError && size == 1 {
			return "invalid UTF-8"
		}
		text = text[size:]
		if !isInCharacterRange(r) {
			return fmt.Sprintf("illegal character code %U", r)
		}
	}
	return ""
}

// spool keeps the length of the bytes written to it and their last max
// bytes (all of them when max <= 0), as pony.TailBuffer does, but with the
// bytes at hand: writeTo then gives a TailBuffer of the same Max what
// writing every byte would have given it.
type spool struct {
	max int
	n   int64
	buf []byte
}

func (s *spool) reset(max int) { s.max, s.n, s.buf = max, 0, s.buf[:0] }

func (s *spool) write(b []byte) {
	s.n += int64(len(b))
	if s.max > 0 && len(b) >= s.max {
		s.buf = append(s.buf[:0], b[len(b)-s.max:]...)
		return
	}
	s.buf = append(s.buf, b...)
	if s.max > 0 && len(s.buf) > 2*s.max {
		s.buf = append(s.buf[:0], s.buf[len(s.buf)-s.max:]...)
	}
}

// dropped is the number of bytes written and no longer held.
func (s *spool) dropped() int64 { return s.n - int64(len(s.buf)) }

// add writes what o was written after what s was; o has the same max.
func (s *spool) add(o *spool) {
	if d := o.dropped(); d > 0 {
		// o holds at least its last max bytes: what s holds is out of
		// sight behind them.
		s.n += d
		s.buf = s.buf[:0]
	}
	s.write(o.buf)
}

// writeTo writes what s was written into w, whose Max is s's: bytes it no
// longer holds are stood in for by others, which the last ones it holds,
// at least Max, push out of w. A TailBuffer's content depends only on the
// length written and the last Max bytes.
func (s *spool) writeTo(w *pony.TailBuffer) {
	for d := s.dropped(); d > 0; {
		k := min(d, int64(len(s.buf)))
		w.Write(s.buf[:k])
		d -= k
	}
	w.Write(s.buf)
}

// last is the last byte written, 0 when none.
func (s *spool) last() byte {
	if len(s.buf) == 0 {
		return 0
	}
	return s.buf[len(s.buf)-1]
}

func isInCharacterRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
