package feeds

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
)

// pageSize is how many entries one store query returns while rendering.
const pageSize = 1000

// Render lists the feed's entries and renders them as one calendar,
// ordered by start then id so that the same entries give the same bytes.
func (s *Service) Render(ctx context.Context, f *calgate.Feed) ([]byte, error) {
	ef := f.EntryFilter(s.now())
	ef.Limit = pageSize
	var entries []*calgate.Entry
	for {
		page, next, err := s.store.Entries(ctx, f.WorkspaceID, ef)
		if err != nil {
			return nil, fmt.Errorf("feeds: render %s: %w", f.ID, err)
		}
		entries = append(entries, page...)
		if next == "" {
			break
		}
		ef.Cursor = next
	}
	var capacity map[string]int
	if f.Availability {
		var err error
		if capacity, err = s.capacities(ctx, f.WorkspaceID, entries); err != nil {
			return nil, fmt.Errorf("feeds: render %s: %w", f.ID, err)
		}
	}
	body, err := RenderEntries(f, entries, capacity, s.refresh)
	if err != nil {
		return nil, fmt.Errorf("feeds: render %s: %w", f.ID, err)
	}
	s.renders.Add(1)
	return body, nil
}

// capacities returns the capacity of each catalogued resource the entries
// name.
func (s *Service) capacities(ctx context.Context, workspaceID string, entries []*calgate.Entry) (map[string]int, error) {
	seen := map[string]bool{}
	var names []string
	for _, e := range entries {
		if e.Resource != "" && !seen[e.Resource] {
			seen[e.Resource] = true
			names = append(names, e.Resource)
		}
	}
	sort.Strings(names)
	out := make(map[string]int, len(names))
	if len(names) == 0 {
		return out, nil
	}
	found, err := s.store.ResourcesByName(ctx, workspaceID, names)
	if err != nil {
		return nil, err
	}
	for n, r := range found {
		out[n] = r.Capacity
	}
	return out, nil
}

// RenderEntries renders entries as the feed's calendar with its templates,
// sorted by start then id; an availability feed shows their busy time
// only, reading each resource's capacity in capacity (a resource not in
// it has 1).
func RenderEntries(f *calgate.Feed, entries []*calgate.Entry, capacity map[string]int, refresh time.Duration) ([]byte, error) {
	if f.Availability {
		return renderBusy(f, entries, capacity, refresh)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		return a.ID < b.ID
	})
	titles, err := parseTemplates(f.TitleTemplates)
	if err != nil {
		return nil, err
	}
	descs, err := parseTemplates(f.DescriptionTemplates)
	if err != nil {
		return nil, err
	}
	events := make([]ical.Event, len(entries))
	for i, e := range entries {
		ev := ical.Event{Entry: e}
		if t := titles[e.Kind]; t != nil {
			ev.Summary = t.Execute(e)
		}
		if t := descs[e.Kind]; t != nil {
			ev.Description = t.Execute(e)
		}
		events[i] = ev
	}
	var b bytes.Buffer
	b.Grow(600 * (len(events) + 2))
	cal := ical.Calendar{Name: f.Name, Timezone: f.Timezone, Refresh: refresh, Method: ical.MethodPublish}
	if err := ical.Render(&b, cal, events); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func parseTemplates(m map[calgate.Kind]string) (map[calgate.Kind]*ical.Template, error) {
	out := make(map[calgate.Kind]*ical.Template, len(m))
	for k, src := range m {
		t, err := ical.ParseTemplate(src)
		if err != nil {
			return nil, fmt.Errorf("template of %s: %w", k, err)
		}
		out[k] = t
	}
	return out, nil
}

// RenderEntry renders one entry of the workspace as a calendar file for
// "add to my calendar" links and returns it with a file name.
func (s *Service) RenderEntry(ctx context.Context, ws *calgate.Workspace, kind calgate.Kind, id string) ([]byte, string, error) {
	e, err := s.store.Entry(ctx, ws.ID, kind, id, false)
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	cal := ical.Calendar{Timezone: ws.Timezone, Method: ical.MethodPublish, Refresh: s.refresh}
	if err := ical.RenderEntry(&b, cal, ical.Event{Entry: e}); err != nil {
		return nil, "", fmt.Errorf("feeds: render entry %s: %w", id, err)
	}
	return b.Bytes(), string(kind) + "-" + e.ID + ".ics", nil
}

// renderBusy renders the busy time of the entries, without any detail of
// who or what: the times in which a resource carries as many of them as
// its capacity (cancelled entries never count), over all the feed's
// resources.
func renderBusy(f *calgate.Feed, entries []*calgate.Entry, capacity map[string]int, refresh time.Duration) ([]byte, error) {
	times := map[string][]calgate.Interval{}
	var stamp time.Time
	for _, e := range entries {
		if calgate.CountsAsBusy(e, true) {
			times[e.Resource] = append(times[e.Resource], calgate.Interval{Start: e.Start, End: e.End})
			if e.UpdatedAt.After(stamp) {
				stamp = e.UpdatedAt
			}
		}
	}
	if stamp.IsZero() {
		stamp = f.UpdatedAt
	}
	var taken []calgate.Interval
	for res, list := range times {
		c, ok := capacity[res]
		if !ok {
			c = 1
		}
		taken = append(taken, calgate.FullyTaken(list, c)...)
	}
	var b bytes.Buffer
	cal := ical.Calendar{Name: f.Name, Timezone: f.Timezone, Refresh: refresh, Method: ical.MethodPublish}
	// The union of every resource's fully taken time.
	if err := ical.RenderBusy(&b, cal, f.ID, calgate.FullyTaken(taken, 1), stamp); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
