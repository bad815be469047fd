package ical

import "testing"

func TestAppendTextEscapes(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Meeting room", "Meeting room"},
		{"comma and semicolon", "a,b;c", `a\,b\;c`},
		{"backslash", `C:\path`, `C:\\path`},
		{"LF", "one\ntwo", `one\ntwo`},
		{"CRLF becomes one newline", "one\r\ntwo", `one\ntwo`},
		{"lone CR", "one\rtwo", `one\ntwo`},
		{"CR CR LF", "one\r\r\ntwo", `one\n\ntwo`},
		{"tab kept, other controls dropped", "a\tb\x00c\x1bd\x7f", "a\tbcd"},
		{"colon and quotes kept", `a: "b"`, `a: "b"`},
		{"non-ASCII kept", "Größe 日本", "Größe 日本"},
		{"invalid UTF-8 replaced", "a\xffb", "a\uFFFDb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(appendText(nil, tc.in)); got != tc.want {
				t.Errorf("appendText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
