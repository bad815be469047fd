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
	body, err := RenderEntries(f, entries, s.refresh)
	if err != nil {
		return nil, fmt.Errorf("feeds: render %s: %w", f.ID, err)
	}
	s.renders.Add(1)
	return body, nil
}

// RenderEntries renders entries as the feed's calendar with its templates,
// sorted by start then id; an availability feed shows their busy time only.
func RenderEntries(f *calgate.Feed, entries []*calgate.Entry, refresh time.Duration) ([]byte, error) {
	if f.Availability {
		return renderBusy(f, entries, refresh)
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

// renderBusy renders the busy time of the entries: the union of the times
// of those that occupy their resource (cancelled ones never do), without
// any detail of who or what.
func renderBusy(f *calgate.Feed, entries []*calgate.Entry, refresh time.Duration) ([]byte, error) {
	busy := make([]*calgate.Entry, 0, len(entries))
	var stamp time.Time
	for _, e := range entries {
		if calgate.CountsAsBusy(e, true) {
			busy = append(busy, e)
			if e.UpdatedAt.After(stamp) {
				stamp = e.UpdatedAt
			}
		}
	}
	if stamp.IsZero() {
		stamp = f.UpdatedAt
	}
	var b bytes.Buffer
	cal := ical.Calendar{Name: f.Name, Timezone: f.Timezone, Refresh: refresh, Method: ical.MethodPublish}
	if err := ical.RenderBusy(&b, cal, f.ID, calgate.BusyIntervals(busy, 1), stamp); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
