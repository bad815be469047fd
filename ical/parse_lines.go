package ical

import (
	"bytes"
	"fmt"
	"strings"
)

// parseCheckLines validates the shape of every content line (RFC 5545
// 3.1) before the go-ical decoder sees it, so that a broken line is
// reported with its line number instead of crashing the decoder. data has
// LF line endings.
func parseCheckLines(data []byte) error {
	lines := bytes.Split(data, []byte("\n"))
	for i := 0; i < len(lines); {
		start := i
		var b strings.Builder
		b.Write(lines[i])
		for i++; i < len(lines) && len(lines[i]) > 0 && (lines[i][0] == ' ' || lines[i][0] == '\t'); i++ {
			b.Write(lines[i][1:])
		}
		line := b.String()
		if line == "" {
			continue
		}
		if err := parseCheckLine(line); err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrMalformed, start+1, err)
		}
	}
	return nil
}

// parseCheckLine checks one unfolded content line:
// name *(";" param) ":" value, param = name "=" value *("," value).
func parseCheckLine(line string) error {
	i := strings.IndexAny(line, ";:")
	if i < 0 {
		return fmt.Errorf("%q has no colon", parseShorten(line))
	}
	if i == 0 {
		return fmt.Errorf("%q has no property name", parseShorten(line))
	}
	name, rest := line[:i], line[i:]
	for rest[0] == ';' {
		rest = rest[1:]
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 || strings.ContainsAny(rest[:eq], ";:,\"") {
			return fmt.Errorf("property %s: parameter without name or '='", name)
		}
		param := rest[:eq]
		rest = rest[eq+1:]
		for {
			if strings.HasPrefix(rest, `"`) {
				end := strings.IndexByte(rest[1:], '"')
				if end < 0 {
					return fmt.Errorf("property %s: parameter %s: unterminated quoted value", name, param)
				}
				rest = rest[end+2:]
			} else {
				end := strings.IndexAny(rest, ";:,\"")
				if end < 0 {
					rest = ""
				} else {
					if rest[end] == '"' {
						return fmt.Errorf("property %s: parameter %s: stray double quote", name, param)
					}
					rest = rest[end:]
				}
			}
			if rest == "" {
				return fmt.Errorf("property %s: parameter %s is not followed by a colon and a value", name, param)
			}
			if rest[0] != ',' {
				break
			}
			rest = rest[1:]
		}
		if rest[0] != ';' && rest[0] != ':' {
			return fmt.Errorf("property %s: parameter %s: unexpected %q after its value", name, param, rest[0])
		}
	}
	return nil
}

// parseShorten cuts a line for an error message.
func parseShorten(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
