package template

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// A path names a value inside a record: dot-separated keys and [n] indexes,
// relative to the current record, to an ancestor ("^." the parent, "^^." the
// grandparent) or to the root record ("$.").
type path struct {
	raw   string
	col   string // the lower-cased column name, in tabular templates
	root  bool
	up    int
	steps []step
}

// step is one key or, when key is empty and index >= 0, one array index.
type step struct {
	key   string
	index int
}

func parsePath(s string) (path, error) {
	p := path{raw: s}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return p, fmt.Errorf("is empty")
	}
	switch {
	case rest == "$":
		p.root = true
		return p, nil
	case strings.HasPrefix(rest, "$."):
		p.root = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "^"):
		for strings.HasPrefix(rest, "^") {
			p.up++
			rest = rest[1:]
		}
		if rest == "" {
			return p, nil
		}
		if !strings.HasPrefix(rest, ".") {
			return p, fmt.Errorf("%q: the ^ that reaches up to a parent must be followed by a dot", s)
		}
		rest = rest[1:]
	}
	steps, err := parseSteps(rest)
	if err != nil {
		return p, fmt.Errorf("%q: %w", s, err)
	}
	p.steps = steps
	return p, nil
}

func parseSteps(s string) ([]step, error) {
	var steps []step
	for _, seg := range strings.Split(s, ".") {
		if seg == "" {
			return nil, fmt.Errorf("has an empty segment")
		}
		key := seg
		var idx []int
		if i := strings.IndexByte(seg, '['); i >= 0 {
			key = seg[:i]
			tail := seg[i:]
			for tail != "" {
				end := strings.IndexByte(tail, ']')
				if tail[0] != '[' || end < 0 {
					return nil, fmt.Errorf("segment %q has a malformed index", seg)
				}
				n, err := strconv.Atoi(tail[1:end])
				if err != nil || n < 0 {
					return nil, fmt.Errorf("segment %q: index %q is not a non-negative number", seg, tail[1:end])
				}
				idx = append(idx, n)
				tail = tail[end+1:]
			}
		}
		if strings.ContainsAny(key, "[]^$") {
			return nil, fmt.Errorf("segment %q has a misplaced character", seg)
		}
		if key != "" {
			steps = append(steps, step{key: key, index: -1})
		}
		for _, n := range idx {
			steps = append(steps, step{index: n})
		}
	}
	return steps, nil
}

// level is one record on the way from the root to the current record.
type level struct {
	value any
	ref   string
}

// resolve looks the path up from the current record (the last level).
func (p path) resolve(levels []level) (any, bool) {
	var v any
	switch {
	case p.root:
		v = levels[0].value
	case p.up >= len(levels):
		return nil, false
	default:
		v = levels[len(levels)-1-p.up].value
	}
	return walk(v, p.steps)
}

func walk(v any, steps []step) (any, bool) {
	for _, s := range steps {
		switch c := v.(type) {
		case map[string]any:
			if s.key == "" {
				return nil, false
			}
			x, ok := c[s.key]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			if s.key != "" || s.index >= len(c) {
				return nil, false
			}
			v = c[s.index]
		default:
			return nil, false
		}
	}
	return v, true
}

// present reports whether v counts as a value: not absent, not null, not a
// blank string.
func present(v any, ok bool) bool {
	if !ok || v == nil {
		return false
	}
	if s, isStr := v.(string); isStr {
		return strings.TrimSpace(s) != ""
	}
	return true
}

// text renders a scalar as text: numbers without exponent, booleans as
// true/false. Objects and arrays are refused.
func text(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case map[string]any:
		return "", fmt.Errorf("is an object, a single value was expected")
	case []any:
		return "", fmt.Errorf("is a list, a single value was expected")
	default:
		return fmt.Sprint(x), nil
	}
}
