package ical

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestWriteFoldedKeepsLinesShortAndUTF8Whole(t *testing.T) {
	tests := []struct {
		name string
		line string
	}{
		{"short", "SUMMARY:Hello"},
		{"exactly 75", "SUMMARY:" + strings.Repeat("a", 67)},
		{"76", "SUMMARY:" + strings.Repeat("a", 68)},
		{"long ASCII", "DESCRIPTION:" + strings.Repeat("abcdefghij", 40)},
		{"two-byte runes", "SUMMARY:" + strings.Repeat("ä", 100)},
		{"three-byte runes", "SUMMARY:" + strings.Repeat("日本語", 40)},
		{"four-byte runes", "SUMMARY:" + strings.Repeat("😀", 50)},
		{"mixed", "SUMMARY:a" + strings.Repeat("é😀x日", 30)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := bufio.NewWriter(&buf)
			if err := writeFolded(w, []byte(tc.line)); err != nil {
				t.Fatal(err)
			}
			w.Flush()
			out := buf.String()
			if !strings.HasSuffix(out, "\r\n") {
				t.Fatalf("output does not end with CRLF: %q", out)
			}
			physical := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
			var joined strings.Builder
			for i, l := range physical {
				if len(l) > foldLimit {
					t.Errorf("line %d has %d octets", i, len(l))
				}
				if !utf8.ValidString(l) {
					t.Errorf("line %d splits a UTF-8 sequence: %q", i, l)
				}
				if i > 0 {
					if !strings.HasPrefix(l, " ") {
						t.Errorf("continuation line %d does not start with a space", i)
					}
					l = l[1:]
				}
				joined.WriteString(l)
			}
			if joined.String() != tc.line {
				t.Errorf("unfolded line differs:\n got %q\nwant %q", joined.String(), tc.line)
			}
			if len(tc.line) <= foldLimit && len(physical) != 1 {
				t.Errorf("a line of %d octets was folded", len(tc.line))
			}
		})
	}
}
