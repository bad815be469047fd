package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// The mutations of FuzzHTTPWrites' generated corpus: edits of the JSON
// tree (a value replaced by a nasty one, a key dropped or added, an
// element repeated), edits of the bytes (flips, inserted escapes, cuts)
// and whole bodies that are not what a route expects.

// nastyValues are raw JSON values that break some rule somewhere.
var nastyValues = []string{
	`""`, `" "`, `"a\u0000b"`, "\"caf\xe9\"", `"\ud800"`, `"\udc00x"`, `"\ud83d\ude00"`, `"a\u0001b"`, `"tab\there"`, `"line\nbreak"`, `"cr\r\nlf"`,
	`"\u007f"`, `"\u2028"`, `"\ufeff"`, `"9999-12-31"`, `"0001-01-01T00:00:00Z"`, `"0000-01-01"`, `"2999-12-31T23:00:00-14:00"`, `"1899-12-31T23:59:59Z"`,
	`"1900-01-01"`, `"2999-12-31"`, `"2025-13-45"`, `"2025-02-29 10:00:00"`, `"20251027000000"`, `"24:00"`, `"Europe/Berlin"`, `"Nowhere/City"`, `"Local"`,
	`"UTC"`, `"cancelled"`, `"CONFIRMED"`, `"entry.*"`, `"*"`, `"job"`, `"reservation"`, `"production_window"`, `"15m"`, `"1s"`, `"-5m"`, `"@every 1s"`,
	`"* * * * *"`, `"whsec_AAAA"`, `"ent_06h39b59b6m0trnj5j597xdnm0"`, `"../../etc"`, `"{workstage}"`, `"{"`, `"{nope}"`,
	`0`, `-1`, `1`, `1.5`, `1e308`, `-1e308`, `1e999`, `9007199254740993`, `99999999999999999999`, `true`, `false`, `null`,
	`{}`, `[]`, `[null]`, `{"a":{"b":{"c":[1,2,{"d":"\u0000"}]}}}`, `[""]`, `["a\u0000"]`, `{"":""}`, `{"job":"{order}"}`, `{"kinds":["nope"]}`,
}

// fieldNames are keys a mutation may add: fields of some route, read-only
// fields, and names of nothing.
var fieldNames = []string{"id", "version", "created_at", "updated_at", "archived_at", "kind", "source", "external_id", "title", "description",
	"location", "start", "end", "all_day", "timezone", "status", "resource", "workstage", "cost_centre", "customer", "quantity", "order",
	"order_item", "product", "position", "activity", "attributes", "items", "simulate", "verbose", "stop_on_error", "name", "user", "admin",
	"kinds", "resources", "statuses", "sources", "past_days", "include_cancelled", "title_templates", "description_templates", "url",
	"events", "filter", "secret", "disabled", "target_url", "event", "username", "password", "calendar", "on_archive", "paused",
	"poll_interval", "model", "mode", "headers", "query", "since_param", "since_format", "template", "sheet", "schedule", "notify_emails",
	"nope", "URL", "Title", "\u0000", "ti\u0000tle"}

// byteSnippets are inserted by byte mutations.
var byteSnippets = []string{"\x00", "\xff", "\xc3", "\xed\xa0\x80", `\u0000`, `\ud800`, `\`, `"`, `,`, `{`, `}`, `[`, `]`, `:`, "\r", "\n", "\r\n",
	`\u001f`, " ", "0", "null", `"x"`, "\ufeff", ";", "\t"}

// nastyStrings are string values that break a text or time rule, or
// come close to one: most mutations change one string of a valid body to
// one of them, so that the body reaches validation and the store.
var nastyStrings = []string{
	`"a\u0000b"`, "\"caf\xe9\"", "\"\xff\xfe\"", `"\ud800"`, `"x\udc00"`, `"\ud83d\ude00"`, `"a\u0001b"`, `"\u001b[31m"`, `"tab\there"`,
	`"line\nbreak"`, `"cr\r\nlf"`, `"\u007f"`, `"\u0085"`, `"\ufeff"`, `" padded "`, `""`, `"9999-12-31"`, `"9999-12-31T23:00:00-14:00"`,
	`"0001-01-01T00:00:00Z"`, `"0000-01-01"`, `"2999-12-31T23:00:00-14:00"`, `"2999-12-31"`, `"1899-12-31T23:59:59Z"`, `"1900-01-01"`, `"2025-13-45"`,
	`"10000-01-01"`, `"Nowhere/City"`, `"Local"`,
}

// mutate returns a body derived from seed.
func (r fuzzRoute) mutate(rng *rand.Rand, seed []byte) []byte {
	if r.ctype != "" {
		return mutateText(rng, seed)
	}
	switch n := rng.IntN(20); {
	case n < 9:
		return mutateJSON(rng, seed, 1, editString)
	case n < 12:
		return mutateJSON(rng, seed, 1, editValue)
	case n < 14:
		return mutateJSON(rng, seed, 2+rng.IntN(2), editAny)
	case n < 17:
		return mutateBytes(rng, seed)
	case n < 18:
		return mutateBytes(rng, mutateJSON(rng, seed, 1, editAny))
	default:
		return wholeBody(rng)
	}
}

// Kinds of JSON edits.
const (
	editString = iota // a string becomes a nasty string (or a long one)
	editValue         // a value becomes a nasty value of any type
	editAny           // any edit: replace, drop, add, repeat, wrap
)

func wholeBody(rng *rand.Rand) []byte {
	bodies := []string{"", "null", "[]", "{}", `"x"`, "0", `{"a":`, "{}{}", "{} x", "\xef\xbb\xbf{}",
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001), `{"items":` + strings.Repeat("[", 500) + strings.Repeat("]", 500) + `}`}
	return []byte(bodies[rng.IntN(len(bodies))])
}

func nasty(rng *rand.Rand) json.RawMessage {
	switch rng.IntN(8) {
	case 0: // a long string
		n := []int{255, 256, 1000, 1001, 4097, 64<<10 + 1, 70 << 10}[rng.IntN(7)]
		return json.RawMessage(`"` + strings.Repeat("x", n) + `"`)
	case 1: // random runes, controls included
		var b strings.Builder
		for range 1 + rng.IntN(20) {
			b.WriteRune(rune(rng.IntN(0x300)))
		}
		raw, _ := json.Marshal(b.String())
		return raw
	case 2: // many values
		items := make([]string, 1+rng.IntN(150))
		for i := range items {
			items[i] = strconv.Quote("v" + strconv.Itoa(i))
		}
		return json.RawMessage("[" + strings.Join(items, ",") + "]")
	default:
		return json.RawMessage(nastyValues[rng.IntN(len(nastyValues))])
	}
}

// slot is a place in a JSON tree: a key of an object or an index of an
// array.
type slot struct {
	obj map[string]any
	arr []any
	key string
	idx int
}

func (s slot) get() any {
	if s.obj != nil {
		return s.obj[s.key]
	}
	return s.arr[s.idx]
}

func (s slot) set(v any) {
	if s.obj != nil {
		s.obj[s.key] = v
	} else {
		s.arr[s.idx] = v
	}
}

func slots(v any, out []slot) []slot {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = append(out, slot{obj: x, key: k})
			out = slots(x[k], out)
		}
	case []any:
		for i := range x {
			out = append(out, slot{arr: x, idx: i})
			out = slots(x[i], out)
		}
	}
	return out
}

// containers lists the objects and arrays of a tree.
func containers(v any, out []any) []any {
	switch x := v.(type) {
	case map[string]any:
		out = append(out, x)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			out = containers(x[k], out)
		}
	case []any:
		out = append(out, x)
		for _, e := range x {
			out = containers(e, out)
		}
	}
	return out
}

func mutateJSON(rng *rand.Rand, seed []byte, edits, kind int) []byte {
	dec := json.NewDecoder(bytes.NewReader(seed))
	dec.UseNumber()
	var root any
	if dec.Decode(&root) != nil {
		return mutateBytes(rng, seed)
	}
	for range edits {
		all := slots(root, nil)
		if kind == editString {
			var strs []slot
			for _, s := range all {
				if _, ok := s.get().(string); ok {
					strs = append(strs, s)
				}
			}
			if len(strs) > 0 {
				v := json.RawMessage(nastyStrings[rng.IntN(len(nastyStrings))])
				if rng.IntN(6) == 0 {
					v = nasty(rng) // a long or random string, or a list
				}
				strs[rng.IntN(len(strs))].set(v)
				continue
			}
		}
		op := rng.IntN(10)
		if kind != editAny {
			op = 0
		}
		switch {
		case op < 5 && len(all) > 0: // replace a value
			all[rng.IntN(len(all))].set(nasty(rng))
		case op < 6 && len(all) > 0: // drop a key
			if s := all[rng.IntN(len(all))]; s.obj != nil {
				delete(s.obj, s.key)
			}
		case op < 8: // add a key to an object
			objs := containers(root, nil)
			for _, c := range rng.Perm(len(objs)) {
				if m, ok := objs[c].(map[string]any); ok {
					m[fieldNames[rng.IntN(len(fieldNames))]] = nasty(rng)
					break
				}
			}
		case op < 9 && len(all) > 0: // repeat an array's element or copy a value elsewhere
			s := all[rng.IntN(len(all))]
			if s.arr != nil && s.obj == nil {
				// Parents hold the slice header: grow it through the parent.
				grown := append([]any(nil), s.arr...)
				for range 1 + rng.IntN(40) {
					grown = append(grown, s.arr[s.idx])
				}
				replaceSlice(root, s.arr, grown)
			} else {
				// A copy, never the value itself: a tree must not hold
				// itself.
				var copied bytes.Buffer
				encodeTree(&copied, s.get())
				all[rng.IntN(len(all))].set(json.RawMessage(copied.Bytes()))
			}
		default: // wrap a value in an array
			if len(all) > 0 {
				s := all[rng.IntN(len(all))]
				s.set([]any{s.get()})
			}
		}
	}
	var buf bytes.Buffer
	encodeTree(&buf, root)
	return buf.Bytes()
}

// replaceSlice swaps the array old for grown wherever the tree holds it.
func replaceSlice(v any, old, grown []any) {
	for _, s := range slots(v, nil) {
		if a, ok := s.get().([]any); ok && len(a) > 0 && len(old) > 0 && &a[0] == &old[0] {
			s.set(grown)
			return
		}
	}
}

// encodeTree writes a tree, raw values as they are (json.Marshal would
// validate and rewrite them).
func encodeTree(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			buf.Write(kb)
			buf.WriteByte(':')
			encodeTree(buf, x[k])
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			encodeTree(buf, e)
		}
		buf.WriteByte(']')
	case json.RawMessage:
		buf.Write(x)
	default:
		b, _ := json.Marshal(x)
		buf.Write(b)
	}
}

func mutateBytes(rng *rand.Rand, seed []byte) []byte {
	b := append([]byte(nil), seed...)
	for range 1 + rng.IntN(2) {
		if len(b) == 0 {
			b = append(b, byteSnippets[rng.IntN(len(byteSnippets))]...)
			continue
		}
		at := rng.IntN(len(b))
		switch rng.IntN(5) {
		case 0:
			b[at] = byte(rng.IntN(256))
		case 1, 2:
			b = append(b[:at], append([]byte(byteSnippets[rng.IntN(len(byteSnippets))]), b[at:]...)...)
		case 3:
			end := min(len(b), at+1+rng.IntN(8))
			b = append(b[:at], b[end:]...)
		default:
			b = b[:at]
		}
	}
	return b
}

// mutateText mutates a CSV file: its bytes, or whole lines.
func mutateText(rng *rand.Rand, seed []byte) []byte {
	if rng.IntN(2) == 0 {
		return mutateBytes(rng, seed)
	}
	lines := strings.Split(string(seed), "\n")
	i := rng.IntN(len(lines))
	switch rng.IntN(5) {
	case 0:
		lines = append(lines, strings.Repeat(lines[len(lines)/2]+"\n", 1+rng.IntN(50)))
	case 1:
		lines[i] = strings.ReplaceAll(lines[i], ";", ",")
	case 2:
		lines[i] = strings.Replace(lines[i], "2026", []string{"9999", "0001", "1899", "2999"}[rng.IntN(4)], 1)
	case 3:
		return []byte(strings.Join(lines, "\r"))
	default:
		cells := strings.Split(lines[i], ";")
		cells[rng.IntN(len(cells))] = []string{"", "\x00", "a\x01b", "\xff\xfe", `"unterminated`, strings.Repeat("x", 300), "\"q\"\"uote\""}[rng.IntN(7)]
		lines[i] = strings.Join(cells, ";")
	}
	return []byte(strings.Join(lines, "\n"))
}
