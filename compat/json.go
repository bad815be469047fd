package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// DecodeObject decodes a JSON object keeping numbers exact (json.Number),
// so that ids and amounts come back as they were sent.
func DecodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("unexpected data after the JSON document")
	}
	if m == nil {
		return nil, fmt.Errorf("the body must be a JSON object")
	}
	return m, nil
}

// QuoteKeys rewrites object keys written without quotes (as JavaScript
// and the examples in other systems' documentation write them: {simulate:
// false}) as JSON strings. Text inside strings is left alone; everything
// else is copied as it is, so invalid JSON stays invalid.
func QuoteKeys(data []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(data) + 16)
	inString, escaped := false, false
	expectKey := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out.WriteByte(c)
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
		switch {
		case c == '"':
			inString, expectKey = true, false
		case c == '{' || c == ',':
			expectKey = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case expectKey && isIdentStart(c):
			j := i
			for j < len(data) && isIdentPart(data[j]) {
				j++
			}
			k := j
			for k < len(data) && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r' || data[k] == '\n') {
				k++
			}
			if k < len(data) && data[k] == ':' {
				out.WriteByte('"')
				out.Write(data[i:j])
				out.WriteByte('"')
				i = j - 1
				expectKey = false
				continue
			}
			expectKey = false
		default:
			expectKey = false
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
