package main

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/pony-build/pony"
)

// printBag writes the bag as indented JSON, the same bytes as
// json.MarshalIndent(b, "", "  ") plus a newline, one step at a time and
// indenting on the fly: a bag of 200,000 tests is not held three times over
// (encoded, compacted, indented) as json.Encoder would.
func printBag(w io.Writer, b *pony.Bag) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	ind := &indenter{w: bw}
	bw.WriteString("{\n  \"client_info\": ")
	ci, err := json.Marshal(&b.ClientInfo)
	if err != nil {
		return err
	}
	ind.write(ci, 1)
	bw.WriteString(",\n  \"results_list\": ")
	if b.Steps == nil {
		bw.WriteString("null")
	} else if len(b.Steps) == 0 {
		bw.WriteString("[]")
	} else {
		bw.WriteString("[")
		for i := range b.Steps {
			s, err := json.Marshal(&b.Steps[i])
			if err != nil {
				return err
			}
			if i > 0 {
				bw.WriteString(",")
			}
			bw.WriteString("\n    ")
			ind.write(s, 2)
		}
		bw.WriteString("\n  ]")
	}
	if b.Receipt != nil {
		r, err := json.Marshal(b.Receipt)
		if err != nil {
			return err
		}
		bw.WriteString(",\n  \"receipt\": ")
		ind.write(r, 1)
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// indenter indents compact JSON (as json.Marshal writes it) with two spaces
// per level, as json.Indent does, writing as it goes.
type indenter struct {
	w *bufio.Writer
}

// write indents src, a compact JSON value, starting at depth levels.
func (ind *indenter) write(src []byte, depth int) {
	w := ind.w
	newline := func() {
		w.WriteByte('\n')
		for range depth {
			w.WriteString("  ")
		}
	}
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			w.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			w.WriteByte(c)
		case '{', '[':
			w.WriteByte(c)
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				i++
				w.WriteByte(src[i]) // an empty object or list stays on its line
				continue
			}
			depth++
			newline()
		case '}', ']':
			depth--
			newline()
			w.WriteByte(c)
		case ',':
			w.WriteByte(c)
			newline()
		case ':':
			w.WriteString(": ")
		default:
			w.WriteByte(c)
		}
	}
}
