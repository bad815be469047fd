package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	calgate "github.com/calgate/calgate"
)

// MaxTimelineEntries caps the entries one timeline shows.
const MaxTimelineEntries = 5000

// scheduleQuery is the schedule's filter form.
type scheduleQuery struct {
	View     string
	Date     string
	Kinds    []calgate.Kind
	Resource string
	Source   string
}

func (q scheduleQuery) values(date time.Time) url.Values {
	v := url.Values{"view": {q.View}, "date": {date.Format(time.DateOnly)}}
	for _, k := range q.Kinds {
		v.Add("kind", string(k))
	}
	if q.Resource != "" {
		v.Set("resource", q.Resource)
	}
	if q.Source != "" {
		v.Set("source", q.Source)
	}
	return v
}

// scheduleData is the schedule page.
type scheduleData struct {
	Timeline   *Timeline
	Query      scheduleQuery
	KindBoxes  []kindBox
	Views      []viewLink
	Prev, Next string
	Today      string
	Problem    string
}

type kindBox struct {
	Kind    string
	Label   string
	Checked bool
}

type viewLink struct {
	View    string
	Href    string
	Current bool
}

// parseScheduleQuery reads the filter form; a bad value is reported and
// replaced by its default.
func parseScheduleQuery(r *http.Request, loc *time.Location, now time.Time) (scheduleQuery, time.Time, string) {
	qs := r.URL.Query()
	q := scheduleQuery{View: qs.Get("view"), Resource: strings.TrimSpace(qs.Get("resource")), Source: strings.TrimSpace(qs.Get("source"))}
	var problem []string
	switch q.View {
	case ViewDay, ViewWeek, ViewMonth:
	case "":
		q.View = ViewWeek
	default:
		problem = append(problem, "view must be day, week or month")
		q.View = ViewWeek
	}
	day := now.In(loc)
	if raw := qs.Get("date"); raw != "" {
		d, err := time.ParseInLocation(time.DateOnly, raw, loc)
		if err != nil {
			problem = append(problem, "date must be a date such as 2026-12-07")
		} else {
			day = d
		}
	}
	for _, k := range qs["kind"] {
		if kind := calgate.Kind(k); kind.Valid() {
			if !slices.Contains(q.Kinds, kind) {
				q.Kinds = append(q.Kinds, kind)
			}
		} else {
			problem = append(problem, fmt.Sprintf("kind %q is not reservation, job or production_window", k))
		}
	}
	q.Date = day.Format(time.DateOnly)
	return q, day, strings.Join(problem, "; ")
}

func (c *Console) schedule(w http.ResponseWriter, r *http.Request, v *visit) {
	loc := zoneOf(&v.principal.Workspace)
	q, day, problem := parseScheduleQuery(r, loc, c.Now())
	win := WindowOf(q.View, day, loc)
	f := calgate.EntryFilter{Kinds: q.Kinds, From: win.From, To: win.To}
	if q.Resource != "" {
		f.Resources = []string{q.Resource}
	}
	if q.Source != "" {
		f.Sources = []string{q.Source}
	}
	entries, truncated, err := c.entriesIn(r, v.workspaceID(), f, MaxTimelineEntries)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	t := BuildTimeline(win, entries, c.Now())
	t.Truncated = truncated
	d := scheduleData{Timeline: t, Query: q, Problem: problem,
		Prev:  "/console/schedule?" + q.values(win.step(-1)).Encode(),
		Next:  "/console/schedule?" + q.values(win.step(1)).Encode(),
		Today: "/console/schedule?" + q.values(c.Now().In(loc)).Encode()}
	for _, k := range calgate.Kinds {
		d.KindBoxes = append(d.KindBoxes, kindBox{Kind: string(k), Label: strings.ReplaceAll(string(k), "_", " "), Checked: slices.Contains(q.Kinds, k)})
	}
	for _, view := range []string{ViewDay, ViewWeek, ViewMonth} {
		vq := q
		vq.View = view
		d.Views = append(d.Views, viewLink{View: view, Href: "/console/schedule?" + vq.values(day).Encode(), Current: view == q.View})
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	c.render(w, r, status, "schedule", v, d)
}

// entriesIn pages through the entries of a filter, up to limit; it
// reports whether there were more.
func (c *Console) entriesIn(r *http.Request, workspaceID string, f calgate.EntryFilter, limit int) ([]*calgate.Entry, bool, error) {
	var out []*calgate.Entry
	for {
		f.Limit = 1000
		page, next, err := c.Store.Entries(r.Context(), workspaceID, f)
		if err != nil {
			return nil, false, err
		}
		out = append(out, page...)
		if len(out) > limit {
			return out[:limit], true, nil
		}
		if next == "" || len(page) == 0 {
			return out, false, nil
		}
		f.Cursor = next
	}
}

func zoneOf(ws *calgate.Workspace) *time.Location {
	if loc, err := calgate.LoadZone(ws.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// entryData is the entry page: its fields and its history.
type entryData struct {
	Entry        *calgate.Entry
	Fields       []fieldRow
	History      []historyItem
	Subscription bool
	Back         string
}

type fieldRow struct{ Name, Value string }

// historyItem is one version of an entry with the fields it changed.
type historyItem struct {
	Version int64
	Type    string
	At      time.Time
	User    string
	Changes []change
}

// change is one field of a version: before and after, as text.
type change struct {
	Field    string
	From, To string
	Added    bool // the field had no value before
	Removed  bool // the field has no value after
}

func (c *Console) entry(w http.ResponseWriter, r *http.Request, v *visit) {
	kind := calgate.Kind(r.PathValue("kind"))
	if !kind.Valid() {
		c.fail(w, r, v, calgate.ErrNotFound)
		return
	}
	ctx := r.Context()
	e, err := c.Store.Entry(ctx, v.workspaceID(), kind, r.PathValue("id"), true)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	if _, err := c.Store.Sequence(ctx); err != nil {
		c.fail(w, r, v, err)
		return
	}
	var history []historyItem
	var after int64
	for {
		evs, err := c.Store.Events(ctx, v.workspaceID(), calgate.EventFilter{EntryID: e.ID, After: after, Limit: 1000})
		if err != nil {
			c.fail(w, r, v, err)
			return
		}
		for _, ev := range evs {
			history = append(history, historyOf(ev))
			after = ev.Position
		}
		if len(evs) < 1000 {
			break
		}
	}
	slices.Reverse(history) // newest first
	loc := zoneOf(&v.principal.Workspace)
	d := entryData{Entry: e, History: history, Subscription: strings.HasPrefix(e.Source, calgate.SourcePrefixICal),
		Back: "/console/schedule?" + url.Values{"view": {ViewWeek}, "date": {e.Start.In(loc).Format(time.DateOnly)}}.Encode()}
	d.Fields = entryFields(e, loc)
	c.render(w, r, http.StatusOK, "entry", v, d)
}

func historyOf(ev *calgate.Event) historyItem {
	user, _, _ := strings.Cut(ev.Actor, "/")
	h := historyItem{Type: string(ev.Type), At: ev.CreatedAt, User: user}
	if ev.Entry != nil {
		h.Version = ev.Entry.Version
	}
	names := make([]string, 0, len(ev.Diff))
	for name := range ev.Diff {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ch := ev.Diff[name]
		h.Changes = append(h.Changes, change{Field: name, From: valueText(ch.From), To: valueText(ch.To),
			Added: ch.From == nil, Removed: ch.To == nil})
	}
	return h
}

// valueText shows a diff value as text: strings as they are, anything
// else as compact JSON.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func entryFields(e *calgate.Entry, loc *time.Location) []fieldRow {
	rows := []fieldRow{
		{"Kind", string(e.Kind)}, {"Status", string(e.Status)}, {e.Kind.ResourceField(), e.Resource},
		{"Start", e.Start.In(loc).Format("Mon 2 Jan 2006 15:04 MST")}, {"End", e.End.In(loc).Format("Mon 2 Jan 2006 15:04 MST")},
		{"Source", e.Source}, {"External id", e.ExternalID}, {"Version", fmt.Sprint(e.Version)},
	}
	optional := []fieldRow{{"Description", e.Description}, {"Location", e.Location}}
	for _, d := range e.DetailValues() {
		value := valueText(d.Value)
		if cu, ok := d.Value.(calgate.Customer); ok {
			value = strings.TrimSpace(cu.Name + " " + cu.Email)
		}
		label := strings.ReplaceAll(d.Name, "_", " ")
		optional = append(optional, fieldRow{strings.ToUpper(label[:1]) + label[1:], value})
	}
	if e.Archived() {
		optional = append(optional, fieldRow{"Archived", e.ArchivedAt.In(loc).Format(time.RFC3339)})
	}
	for _, f := range optional {
		if f.Value != "" {
			rows = append(rows, f)
		}
	}
	return rows
}
