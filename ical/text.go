package ical

import (
	"unicode/utf8"
)

// appendText appends s escaped as an RFC 5545 TEXT value (section 3.3.11):
// CRLF and lone CR become a newline first, then backslash, semicolon,
// comma and newline are escaped. Other control characters, which TEXT does
// not allow, are dropped (tabs are kept), and invalid UTF-8 becomes U+FFFD.
func appendText(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == '\\':
				dst = append(dst, '\\', '\\')
			case c == ';':
				dst = append(dst, '\\', ';')
			case c == ',':
				dst = append(dst, '\\', ',')
			case c == '\r':
				if i < len(s) && s[i] == '\n' {
					i++
				}
				dst = append(dst, '\\', 'n')
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, c)
			case c < 0x20 || c == 0x7f:
				// dropped: not allowed in TEXT
			default:
				dst = append(dst, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}
