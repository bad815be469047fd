package calgate

import (
	"bytes"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Text rules. Every text calgate stores, whatever path it came by (the
// API, an import, a subscription, a compat surface, a connector), passes
// one of two checks:
//
//   - a line (identifiers, names, filter values) is valid UTF-8 and holds
//     no control character at all (U+0000 to U+001F and U+007F);
//   - a text (title, description, location, templates) is valid UTF-8 and
//     holds no control character but tab and newline.
//
// Both engines store exactly what passes, so SQLite and PostgreSQL accept
// and refuse the same inputs. The limits are documented in the README.

// TextProblem says what is wrong with s as a line (multiline false) or a
// text (multiline true), "" when nothing is.
func TextProblem(s string, multiline bool) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				if multiline && (c == '\t' || c == '\n') {
					i++
					continue
				}
				return controlProblem(c, multiline)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return "must be valid UTF-8 (a byte 0x" + strconv.FormatUint(uint64(c), 16) + " is not)"
		}
		i += size
	}
	return ""
}

const nulProblem = "must not contain a NUL character (U+0000)"

func controlProblem(c byte, multiline bool) string {
	if c == 0 {
		return nulProblem
	}
	name := "control character U+00" + strings.ToUpper(strconv.FormatUint(uint64(c)>>4, 16)+strconv.FormatUint(uint64(c)&0xf, 16))
	if multiline {
		return "must not contain a " + name + " (only tab and newline are allowed)"
	}
	return "must not contain a " + name + " (it is a single line of text)"
}

// Line checks a one-line text field: valid UTF-8, no control character,
// at most max bytes (no bound when max is 0). It records what is wrong
// under field and reports whether s passed.
func (e *ValidationError) Line(field, s string, max int) bool {
	return e.text(field, s, max, false)
}

// Text checks a free-text field as Line does, but allows tab and newline.
func (e *ValidationError) Text(field, s string, max int) bool {
	return e.text(field, s, max, true)
}

func (e *ValidationError) text(field, s string, max int, multiline bool) bool {
	if p := TextProblem(s, multiline); p != "" {
		e.Add(field, "%s", p)
		return false
	}
	if max > 0 && len(s) > max {
		e.Add(field, "must be at most %d bytes long (is %d)", max, len(s))
		return false
	}
	return true
}

// Lines checks a list of one-line values (a filter): at most maxItems
// values of at most max bytes each, none empty.
func (e *ValidationError) Lines(field string, list []string, maxItems, max int) bool {
	if len(list) > maxItems {
		e.Add(field, "at most %d values (has %d)", maxItems, len(list))
		return false
	}
	ok := true
	for i, s := range list {
		f := field + "[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(s) == "" {
			e.Add(f, "must not be empty")
			ok = false
			continue
		}
		ok = e.Line(f, s, max) && ok
	}
	return ok
}

// NormalizeNewlines turns CRLF and lone CR into LF, the one line break
// that text fields store.
func NormalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// StorableText makes text that calgate records from outside (a server's
// answer, an error it caused, its ETag) storable as it is on both
// databases: bytes that are not UTF-8 and NUL become U+FFFD. It is for
// what calgate reports, never for input it is asked to store: that is
// refused, not repaired.
func StorableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Truncate cuts s to at most max bytes without splitting a character.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// has reports whether a field already has an error.
func (e *ValidationError) has(field string) bool {
	for _, fe := range e.Errors {
		if fe.Field == field {
			return true
		}
	}
	return false
}

// The range of times calgate stores: entries start and end within it,
// checked in UTC after a missing end is derived. Times outside it are
// refused, so that every stored time has a four-digit year in every zone
// and a well-defined time zone history (documented in the README).
var (
	MinTime = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(3000, time.January, 1, 0, 0, 0, 0, time.UTC)
)

// TimeInRange reports whether t lies in [MinTime, MaxTime].
func TimeInRange(t time.Time) bool {
	return !t.Before(MinTime) && !t.After(MaxTime)
}

// Time checks that t lies in the stored range and records the field
// otherwise.
func (e *ValidationError) Time(field string, t time.Time) bool {
	if TimeInRange(t) {
		return true
	}
	e.Add(field, "must be from %s to %s (is %s in UTC)", MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339), t.UTC().Format(time.RFC3339))
	return false
}

// ValidID reports whether s has the shape of an identifier NewID makes
// ("ent_0h2…"): the prefix, an underscore and 26 characters of its
// alphabet. Path ids and cursors that do not are refused before they reach
// the database.
func ValidID(s string) bool {
	prefix, rest, ok := strings.Cut(s, "_")
	if !ok || prefix == "" || len(prefix) > 8 || len(rest) != 26 {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if prefix[i] < 'a' || prefix[i] > 'z' {
			return false
		}
	}
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(idAlphabet, rest[i]) < 0 {
			return false
		}
	}
	return true
}

const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// MaxNameLength bounds the names that appear in URLs (import templates).
const MaxNameLength = 100

// NameProblem says what is wrong with s as a name that appears in URLs,
// "" when nothing is: 1 to MaxNameLength ASCII letters, digits, '.', '_'
// and '-', starting with a letter or digit.
func NameProblem(s string) string {
	if s == "" {
		return "is required"
	}
	if len(s) > MaxNameLength {
		return "must be at most " + strconv.Itoa(MaxNameLength) + " characters long"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return "must start with a letter or a digit"
		}
		if !alnum && c != '.' && c != '_' && c != '-' {
			return "may hold only letters, digits, '.', '_' and '-' (found " + strconv.QuoteRune(rune(c)) + ")"
		}
	}
	return ""
}

// CheckJSONText checks the strings of a JSON document before it is
// decoded, since decoding replaces what it cannot represent without a
// word: every string (keys too) must be valid UTF-8, hold no NUL and no
// lone UTF-16 surrogate escape (\ud800). The error names the JSON path of
// the first bad string (such as "customer.name" or "items[2].title"),
// under prefix when one is given ("attributes" gives "attributes.Note"). A document that is not JSON passes: its decoder
// reports that.
func CheckJSONText(data []byte, prefix string) *ValidationError {
	// The common case costs one pass over valid UTF-8 and a search for the
	// escapes that could be a problem.
	if utf8.Valid(data) && !suspectEscape(data) {
		return nil
	}
	path, msg := jsonTextScan(data)
	if msg == "" {
		return nil
	}
	if prefix != "" {
		switch {
		case path == "body":
			path = prefix
		case strings.HasPrefix(path, "["):
			path = prefix + path
		default:
			path = prefix + "." + path
		}
	}
	return Invalid(path, "%s", msg)
}

// suspectEscape reports whether data holds an escape that may be \u0000
// or a surrogate; it may say yes for text that only looks like one.
func suspectEscape(data []byte) bool {
	for {
		i := bytes.Index(data, []byte(`\u`))
		if i < 0 || i+6 > len(data) {
			return i >= 0
		}
		h := data[i+2 : i+6]
		if string(h) == "0000" || (h[0] == 'd' || h[0] == 'D') && (h[1] >= '8' && h[1] <= '9' || h[1] >= 'a' && h[1] <= 'f' || h[1] >= 'A' && h[1] <= 'F') {
			return true
		}
		data = data[i+2:]
	}
}

// jsonTextScan walks a JSON document, keeping the path of the value it is
// in, and returns the path and the fault of the first bad string.
func jsonTextScan(data []byte) (string, string) {
	type frame struct {
		array  bool
		index  int
		key    []byte // raw, as in the document
		keyNow bool   // an object expecting a key
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strings.ToValidUTF8(string(f.key), "\uFFFD"))
		}
		return b.String()
	}
	for i := 0; i < len(data); {
		switch c := data[i]; c {
		case '{':
			stack = append(stack, frame{keyNow: true})
			i++
		case '[':
			stack = append(stack, frame{array: true})
			i++
		case '}', ']':
			if len(stack) == 0 {
				return "", ""
			}
			stack = stack[:len(stack)-1]
			i++
		case ',':
			if len(stack) == 0 {
				return "", ""
			}
			if f := &stack[len(stack)-1]; f.array {
				f.index++
			} else {
				f.keyNow = true
			}
			i++
		case '"':
			end, msg := jsonStringFault(data, i)
			if end < 0 {
				return "", "" // unterminated: the decoder reports it
			}
			isKey := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].keyNow
			if isKey {
				f := &stack[len(stack)-1]
				f.keyNow = false
				f.key = data[i+1 : end-1]
				if msg != "" {
					return path(), "a key " + msg
				}
			} else if msg != "" {
				if p := path(); p != "" {
					return p, msg
				}
				return "body", msg
			}
			i = end
		default:
			if c >= utf8.RuneSelf {
				if r, size := utf8.DecodeRune(data[i:]); r == utf8.RuneError && size == 1 {
					return "", "" // outside a string: malformed JSON
				}
			}
			i++
		}
	}
	return "", ""
}

// jsonStringFault reads the JSON string starting at data[start] (a quote)
// and returns the offset after its closing quote (-1 when there is none)
// and what is wrong with its text ("" when nothing).
func jsonStringFault(data []byte, start int) (int, string) {
	fault := ""
	note := func(msg string) {
		if fault == "" {
			fault = msg
		}
	}
	for i := start + 1; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			return i + 1, fault
		case c == '\\':
			if i+1 >= len(data) {
				return -1, fault
			}
			if data[i+1] != 'u' {
				i += 2
				continue
			}
			r, ok := hex4(data, i+2)
			if !ok {
				i += 2
				continue
			}
			i += 6
			switch {
			case r == 0:
				note(nulProblem)
			case r >= 0xd800 && r < 0xdc00:
				low, ok := rune(0), false
				if i+1 < len(data) && data[i] == '\\' && data[i+1] == 'u' {
					low, ok = hex4(data, i+2)
				}
				if ok && low >= 0xdc00 && low < 0xe000 {
					i += 6
				} else {
					note("must be valid Unicode (a lone UTF-16 surrogate \\u" + strconv.FormatInt(int64(r), 16) + " is not)")
				}
			case r >= 0xdc00 && r < 0xe000:
				note("must be valid Unicode (a lone UTF-16 surrogate \\u" + strconv.FormatInt(int64(r), 16) + " is not)")
			}
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				note("must be valid UTF-8 (a byte 0x" + strconv.FormatUint(uint64(c), 16) + " is not)")
			}
			i += size
		}
	}
	return -1, fault
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}

// Limits shared by the resources that take names, URLs and filters
// (feeds, webhooks, CalDAV targets, subscriptions, pulls, tokens). They
// are documented in the README.
const (
	// MaxFilterValues bounds each list of a filter (kinds, resources,
	// statuses, sources, events).
	MaxFilterValues = 100
	// MaxURLLength bounds the URLs calgate calls.
	MaxURLLength = 2048
	// MaxDisplayNameLength bounds display names, in bytes.
	MaxDisplayNameLength = 200
	// MaxDescriptionLength bounds the descriptions of resources, in bytes.
	MaxDescriptionLength = 1000
)

// FilterLists checks the value lists of an entry filter: at most
// MaxFilterValues each, resources and sources one-line values of at most
// MaxIDLength bytes (the limit of the entry fields they match). Kinds and
// statuses are checked by their owners. prefix goes before the field
// names ("filter." for webhooks).
func (e *ValidationError) FilterLists(prefix string, nKinds int, resources []string, nStatuses int, sources []string) {
	if nKinds > MaxFilterValues {
		e.Add(prefix+"kinds", "at most %d values (has %d)", MaxFilterValues, nKinds)
	}
	if nStatuses > MaxFilterValues {
		e.Add(prefix+"statuses", "at most %d values (has %d)", MaxFilterValues, nStatuses)
	}
	e.Lines(prefix+"resources", resources, MaxFilterValues, MaxIDLength)
	e.Lines(prefix+"sources", sources, MaxFilterValues, MaxIDLength)
}
