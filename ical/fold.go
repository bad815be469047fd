package ical

import (
	"bufio"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// foldLimit is the longest content line RFC 5545 (section 3.1) allows, in
// octets, not counting the CRLF.
const foldLimit = 75

// encWriter writes content lines: it ends each with CRLF and folds it at
// foldLimit octets, never inside a UTF-8 sequence; continuation lines start
// with one space. The first write error sticks and ends all writing.
type encWriter struct {
	w     *bufio.Writer
	line  []byte // scratch buffer for the line being built
	zones renderZones
	err   error
}

func newEncWriter(w io.Writer) *encWriter {
	return &encWriter{w: bufio.NewWriterSize(w, 32<<10), line: make([]byte, 0, 256), zones: renderZones{}}
}

// raw writes a line whose value needs no escaping, such as "BEGIN:VEVENT".
func (e *encWriter) raw(s string) {
	e.line = append(e.line[:0], s...)
	e.flushLine()
}

// prop writes NAME[params]:value with the value written as given.
func (e *encWriter) prop(name, params, value string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, params...)
	e.line = append(e.line, ':')
	e.line = append(e.line, value...)
	e.flushLine()
}

// timeProp writes NAME[params]:value with t formatted by layout.
func (e *encWriter) timeProp(name, params string, t time.Time, layout string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, params...)
	e.line = append(e.line, ':')
	e.line = t.AppendFormat(e.line, layout)
	e.flushLine()
}

// intProp writes NAME:n.
func (e *encWriter) intProp(name string, n int64) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	e.line = strconv.AppendInt(e.line, n, 10)
	e.flushLine()
}

// text writes NAME:value with the values, concatenated, escaped as an
// RFC 5545 TEXT value.
func (e *encWriter) text(name string, values ...string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	for _, v := range values {
		e.line = appendText(e.line, v)
	}
	e.flushLine()
}

// textList writes NAME:v1,v2,… with every value escaped and empty values
// left out. Nothing is written when every value is empty.
func (e *encWriter) textList(name string, values ...string) {
	e.line = append(e.line[:0], name...)
	e.line = append(e.line, ':')
	n := 0
	for _, v := range values {
		if v == "" {
			continue
		}
		if n > 0 {
			e.line = append(e.line, ',')
		}
		e.line = appendText(e.line, v)
		n++
	}
	if n > 0 {
		e.flushLine()
	}
}

// flushLine writes the line in e.line, folded.
func (e *encWriter) flushLine() {
	if e.err != nil {
		return
	}
	e.err = writeFolded(e.w, e.line)
}

func (e *encWriter) flush() error {
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

// writeFolded writes one content line ended by CRLF, folded so that no
// physical line exceeds foldLimit octets and no UTF-8 sequence is split.
func writeFolded(w *bufio.Writer, line []byte) error {
	limit := foldLimit
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8; appendText never produces this
			cut = limit
		}
		if _, err := w.Write(line[:cut]); err != nil {
			return err
		}
		if _, err := w.WriteString("\r\n "); err != nil {
			return err
		}
		line = line[cut:]
		limit = foldLimit - 1 // the leading space counts
	}
	if _, err := w.Write(line); err != nil {
		return err
	}
	_, err := w.WriteString("\r\n")
	return err
}
