package console

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
)

// Timeline views.
const (
	ViewDay   = "day"
	ViewWeek  = "week"
	ViewMonth = "month"
)

// Window is the span a timeline shows, in the workspace's time zone.
type Window struct {
	View     string
	From, To time.Time
}

// WindowOf returns the day, the week (Monday to Sunday) or the month that
// holds day, in loc. An unknown view is a week.
func WindowOf(view string, day time.Time, loc *time.Location) Window {
	d := day.In(loc)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	switch view {
	case ViewDay:
		return Window{View: ViewDay, From: start, To: start.AddDate(0, 0, 1)}
	case ViewMonth:
		first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, loc)
		return Window{View: ViewMonth, From: first, To: first.AddDate(0, 1, 0)}
	default:
		back := (int(start.Weekday()) + 6) % 7 // days since Monday
		monday := start.AddDate(0, 0, -back)
		return Window{View: ViewWeek, From: monday, To: monday.AddDate(0, 0, 7)}
	}
}

// step moves the window by n of its own lengths.
func (w Window) step(n int) time.Time {
	switch w.View {
	case ViewDay:
		return w.From.AddDate(0, 0, n)
	case ViewMonth:
		return w.From.AddDate(0, n, 0)
	default:
		return w.From.AddDate(0, 0, 7*n)
	}
}

// Timeline is the schedule of a window: columns (hours or days) and one
// row per resource with a bar per entry. Positions are percentages of the
// window, computed here so that the template only places what it is given.
type Timeline struct {
	Window
	Label   string
	Columns []Column
	Rows    []Row
	Count   int
	// Truncated is set when there were more entries than are shown.
	Truncated bool
}

// Column is one hour (day view) or one day (week and month views).
type Column struct {
	Label string
	Left  string // percent
	Width string // percent
	Today bool
}

// Row is one resource (a reservation's resource, a job's workstage or a
// production window's cost centre).
type Row struct {
	Field    string // resource, workstage or cost_centre
	Resource string
	Label    string
	Lanes    int
	Height   int // pixels
	Bars     []Bar
}

// Bar is one entry on its row.
type Bar struct {
	ID, Kind, Status, Title, Source string
	Href                            string
	Left, Width                     string // percent
	Y                               int    // pixels from the row's top
	Lane                            int
	// Subscription marks entries an iCal subscription wrote.
	Subscription bool
	// Label says what the bar is in words (for screen readers and the
	// tooltip): title, kind, status, times.
	Label string
}

// Bar geometry, in pixels.
const (
	laneHeight = 24
	barHeight  = 20
)

// BuildTimeline lays out entries on the window's grid. Entries are placed
// on the row of their resource and, where they overlap, in lanes below
// each other. now marks today's column.
func BuildTimeline(w Window, entries []*calgate.Entry, now time.Time) *Timeline {
	loc := w.From.Location()
	t := &Timeline{Window: w, Count: len(entries), Label: windowLabel(w)}
	t.Columns = columnsOf(w, now.In(loc))
	span := w.To.Sub(w.From).Seconds()
	rows := map[string]*Row{}
	var order []*Row
	sorted := append([]*calgate.Entry(nil), entries...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].Start.Equal(sorted[j].Start) {
			return sorted[i].Start.Before(sorted[j].Start)
		}
		return sorted[i].ID < sorted[j].ID
	})
	lanesEnd := map[*Row][]time.Time{}
	for _, e := range sorted {
		field := e.Kind.ResourceField()
		key := field + "\x00" + e.Resource
		row := rows[key]
		if row == nil {
			label := e.Resource
			if label == "" {
				label = "(no " + strings.ReplaceAll(field, "_", " ") + ")"
			}
			row = &Row{Field: field, Resource: e.Resource, Label: label}
			rows[key] = row
			order = append(order, row)
		}
		start, end := e.Start, e.End
		if start.Before(w.From) {
			start = w.From
		}
		if end.After(w.To) {
			end = w.To
		}
		lane := placeLane(lanesEnd, row, start, end)
		left := start.Sub(w.From).Seconds() / span * 100
		width := max(end.Sub(start).Seconds()/span*100, 0.3)
		row.Bars = append(row.Bars, Bar{
			ID: e.ID, Kind: string(e.Kind), Status: string(e.Status), Title: e.Title, Source: e.Source,
			Href:         "/console/entries/" + string(e.Kind) + "/" + url.PathEscape(e.ID),
			Left:         pct(left),
			Width:        pct(min(width, 100-left)),
			Lane:         lane,
			Y:            lane*laneHeight + 2,
			Subscription: strings.HasPrefix(e.Source, calgate.SourcePrefixICal),
			Label:        barLabel(e, loc),
		})
	}
	for _, row := range order {
		row.Lanes = len(lanesEnd[row])
		row.Height = row.Lanes*laneHeight + 4
	}
	sort.SliceStable(order, func(i, j int) bool {
		if fi, fj := fieldRank[order[i].Field], fieldRank[order[j].Field]; fi != fj {
			return fi < fj
		}
		return naturalLess(order[i].Resource, order[j].Resource)
	})
	t.Rows = make([]Row, len(order))
	for i, r := range order {
		t.Rows[i] = *r
	}
	return t
}

// fieldRank orders rows: resources, then workstages, then cost centres.
var fieldRank = map[string]int{"resource": 0, "workstage": 1, "cost_centre": 2}

// placeLane returns the first lane of row free at start and marks it
// taken until end.
func placeLane(lanes map[*Row][]time.Time, row *Row, start, end time.Time) int {
	for i, until := range lanes[row] {
		if !until.After(start) {
			lanes[row][i] = end
			return i
		}
	}
	lanes[row] = append(lanes[row], end)
	return len(lanes[row]) - 1
}

func pct(v float64) string { return fmt.Sprintf("%.3f%%", v) }

func columnsOf(w Window, now time.Time) []Column {
	var cols []Column
	span := w.To.Sub(w.From).Seconds()
	add := func(from, to time.Time, label string, today bool) {
		cols = append(cols, Column{Label: label, Today: today,
			Left: pct(from.Sub(w.From).Seconds() / span * 100), Width: pct(to.Sub(from).Seconds() / span * 100)})
	}
	if w.View == ViewDay {
		for h := w.From; h.Before(w.To); h = h.Add(time.Hour) {
			add(h, h.Add(time.Hour), h.Format("15"), false)
		}
		return cols
	}
	layout := "Mon 2 Jan"
	if w.View == ViewMonth {
		layout = "2"
	}
	for d := w.From; d.Before(w.To); d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		add(d, next, d.Format(layout), !now.Before(d) && now.Before(next))
	}
	return cols
}

func windowLabel(w Window) string {
	switch w.View {
	case ViewDay:
		return w.From.Format("Monday 2 January 2006")
	case ViewMonth:
		return w.From.Format("January 2006")
	default:
		last := w.To.AddDate(0, 0, -1)
		_, week := w.From.ISOWeek()
		return fmt.Sprintf("Week %d: %s – %s", week, w.From.Format("2 Jan"), last.Format("2 Jan 2006"))
	}
}

func barLabel(e *calgate.Entry, loc *time.Location) string {
	title := e.Title
	if title == "" {
		title = e.ExternalID
	}
	when := e.Start.In(loc).Format("Mon 2 Jan 15:04") + "–" + e.End.In(loc).Format("15:04")
	if e.AllDay {
		when = e.Start.In(loc).Format("Mon 2 Jan") + " (all day)"
	}
	s := fmt.Sprintf("%s · %s · %s · %s", title, strings.ReplaceAll(string(e.Kind), "_", " "), e.Status, when)
	if strings.HasPrefix(e.Source, calgate.SourcePrefixICal) {
		s += " · from an iCal subscription"
	}
	return s
}

// naturalLess orders "CNC-2" before "CNC-10".
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
