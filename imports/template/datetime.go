package template

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// goLayout converts a date layout written with the letters most systems use
// (yyyy-MM-dd HH:mm:ss, dd.MM.yyyy, M/d/yy h:mm a, 'T' quoted) into a Go
// layout. A layout that already contains Go's reference year 2006 or the
// reference time 15:04 is returned as is.
func goLayout(l string) (layout string, hasTime, hasZone bool, err error) {
	if strings.Contains(l, "2006") || strings.Contains(l, "15:04") {
		hasTime = strings.Contains(l, "15") || strings.Contains(l, "03") || strings.Contains(l, "04") || strings.Contains(l, "PM")
		hasZone = strings.Contains(l, "Z07") || strings.Contains(l, "-07") || strings.Contains(l, "MST")
		return l, hasTime, hasZone, nil
	}
	var b strings.Builder
	for i := 0; i < len(l); {
		c := l[i]
		if c == '\'' {
			end := strings.IndexByte(l[i+1:], '\'')
			if end < 0 {
				return "", false, false, fmt.Errorf("layout %q has an unclosed quote", l)
			}
			b.WriteString(l[i+1 : i+1+end])
			i += end + 2
			continue
		}
		n := 1
		for i+n < len(l) && l[i+n] == c {
			n++
		}
		tok, isTime, isZone, known := layoutToken(c, n)
		if !known {
			if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
				return "", false, false, fmt.Errorf("layout %q: %q is not a date letter (quote literal text as 'T')", l, l[i:i+n])
			}
			if c >= '0' && c <= '9' {
				return "", false, false, fmt.Errorf("layout %q: digits must be quoted", l)
			}
			tok = l[i : i+n]
		}
		hasTime = hasTime || isTime
		hasZone = hasZone || isZone
		b.WriteString(tok)
		i += n
	}
	return b.String(), hasTime, hasZone, nil
}

func layoutToken(c byte, n int) (tok string, isTime, isZone, known bool) {
	pick := func(opts ...string) string {
		if n-1 < len(opts) {
			return opts[n-1]
		}
		return ""
	}
	switch c {
	case 'y':
		switch n {
		case 2:
			return "06", false, false, true
		case 4:
			return "2006", false, false, true
		}
	case 'M':
		return pick("1", "01", "Jan", "January"), false, false, n <= 4
	case 'd':
		return pick("2", "02"), false, false, n <= 2
	case 'E':
		if n <= 3 {
			return "Mon", false, false, true
		}
		return "Monday", false, false, true
	case 'H':
		return "15", true, false, n <= 2
	case 'h':
		return pick("3", "03"), true, false, n <= 2
	case 'm':
		return pick("4", "04"), true, false, n <= 2
	case 's':
		return pick("5", "05"), true, false, n <= 2
	case 'S', 'f':
		return strings.Repeat("0", n), true, false, n <= 9
	case 'a', 't':
		return "PM", true, false, n <= 2
	case 'X':
		return pick("Z07", "Z0700", "Z07:00"), false, true, n <= 3
	case 'Z':
		return "-0700", false, true, n == 1
	case 'z':
		return pick("-07", "-07", "-07:00"), false, true, n <= 3
	}
	return "", false, false, false
}

// Excel counts days from 1899-12-30 (the day before its fictitious
// 1900-02-29 leap day, so that serials from March 1900 on are right).
const maxExcelSerial = 2958466 // 10000-01-01

// excelSerial reads an Excel date serial number as a wall-clock time in loc.
// dateOnly is set when the number has no fraction of a day.
func excelSerial(f float64, loc *time.Location) (t time.Time, dateOnly bool, ok bool) {
	if math.IsNaN(f) || f < 1 || f >= maxExcelSerial {
		return time.Time{}, false, false
	}
	days := math.Floor(f)
	secs := math.Round((f - days) * 86400)
	t = time.Date(1899, 12, 30+int(days), 0, 0, int(secs), 0, loc)
	return t, secs == 0, true
}

// dateSpec is a compiled date transform.
type dateSpec struct {
	layout   string // Go layout; empty: the forms calgate.ParseTime accepts
	hasTime  bool
	hasZone  bool
	zone     *time.Location // nil: times without offset stay local
	output   string         // Go layout; empty: RFC 3339 or local form
	outLocal bool           // output has no zone letters
}

const localLayout = "2006-01-02T15:04:05"

func (d *dateSpec) apply(v any) (any, error) {
	loc := d.zone
	if loc == nil {
		loc = time.UTC
	}
	var (
		t        time.Time
		dateOnly bool
		zoned    bool
	)
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		var err error
		t, dateOnly, zoned, err = d.parseText(s, loc)
		if err != nil {
			f, ferr := parseFloat(s)
			tt, dOnly, ok := excelSerial(f, loc)
			if ferr != nil || !ok {
				return nil, err
			}
			t, dateOnly = tt, dOnly && (d.layout == "" || !d.hasTime)
		}
	default:
		s, err := text(v)
		if err != nil {
			return nil, err
		}
		f, ferr := parseFloat(s)
		tt, dOnly, ok := excelSerial(f, loc)
		if ferr != nil || !ok {
			return nil, fmt.Errorf("%s is neither a date nor an Excel date serial number", s)
		}
		t, dateOnly = tt, dOnly && (d.layout == "" || !d.hasTime)
	}
	switch {
	case d.output != "":
		if d.zone != nil {
			t = t.In(d.zone)
		}
		return t.Format(d.output), nil
	case dateOnly:
		return t.Format(calgate.DateLayout), nil
	case d.zone == nil && !zoned:
		return t.Format(localLayout), nil
	case d.zone == nil:
		return t.Format(time.RFC3339), nil
	default:
		return t.In(loc).Format(time.RFC3339), nil
	}
}

func (d *dateSpec) parseText(s string, loc *time.Location) (t time.Time, dateOnly, zoned bool, err error) {
	if d.layout != "" {
		t, err = time.ParseInLocation(d.layout, s, loc)
		if err != nil {
			return t, false, false, fmt.Errorf("%q does not match the date layout", s)
		}
		return t, !d.hasTime, d.hasZone, nil
	}
	if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, true, nil
	}
	t, dateOnly, err = calgate.ParseTime(s, loc)
	return t, dateOnly, false, err
}
