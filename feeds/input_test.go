package feeds

import (
	"strings"
	"testing"

	"github.com/calgate/calgate"
)

func TestInputNamesEveryBadField(t *testing.T) {
	tests := []struct {
		name  string
		in    Input
		field string
	}{
		{"missing name", Input{}, "name"},
		{"blank name", Input{Name: ptr("  ")}, "name"},
		{"long name", Input{Name: ptr(strings.Repeat("x", MaxNameLength+1))}, "name"},
		{"unknown kind", Input{Name: ptr("x"), Kinds: &[]calgate.Kind{"job", "meeting"}}, "kinds[1]"},
		{"unknown status", Input{Name: ptr("x"), Statuses: &[]calgate.Status{"done"}}, "statuses[0]"},
		{"negative window", Input{Name: ptr("x"), PastDays: ptr(-1)}, "past_days"},
		{"window too long", Input{Name: ptr("x"), PastDays: ptr(MaxPastDays + 1)}, "past_days"},
		{"bad zone", Input{Name: ptr("x"), Timezone: ptr("Mars/Olympus")}, "timezone"},
		{"local zone", Input{Name: ptr("x"), Timezone: ptr("Local")}, "timezone"},
		{"unclosed placeholder", Input{Name: ptr("x"), TitleTemplates: &map[calgate.Kind]string{"job": "{order"}}, "title_templates.job"},
		{"unknown placeholder", Input{Name: ptr("x"), DescriptionTemplates: &map[calgate.Kind]string{"reservation": "{nope}"}}, "description_templates.reservation"},
		{"template of an unknown kind", Input{Name: ptr("x"), TitleTemplates: &map[calgate.Kind]string{"meeting": "{title}"}}, "title_templates.meeting"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &calgate.Feed{}
			err := tc.in.apply(f)
			ve, ok := err.(*calgate.ValidationError)
			if !ok || len(ve.Errors) != 1 || ve.Errors[0].Field != tc.field {
				t.Fatalf("error %v, want one naming %s", err, tc.field)
			}
		})
	}
}

func TestPatchKeepsUnsetFields(t *testing.T) {
	f := &calgate.Feed{Name: "Plant", Timezone: "Europe/Berlin", IncludeCancelled: true,
		Filter: calgate.FeedFilter{Kinds: []calgate.Kind{calgate.KindJob}, PastDays: 30}}
	in := Input{Resources: &[]string{"Welding", "Welding", "Paint"}, IncludeCancelled: ptr(false),
		TitleTemplates: &map[calgate.Kind]string{"job": "{order}", "reservation": ""}}
	if err := in.apply(f); err != nil {
		t.Fatal(err)
	}
	if f.Name != "Plant" || f.Filter.PastDays != 30 || len(f.Filter.Kinds) != 1 || f.IncludeCancelled {
		t.Fatalf("patched %+v", f)
	}
	if len(f.Filter.Resources) != 2 || len(f.TitleTemplates) != 1 || f.TitleTemplates["job"] != "{order}" {
		t.Fatalf("resources %v templates %v", f.Filter.Resources, f.TitleTemplates)
	}
}

func TestEntryFilterLeavesOutCancelledWhenAsked(t *testing.T) {
	tests := []struct {
		name     string
		statuses []calgate.Status
		include  bool
		status   calgate.Status
		want     bool
	}{
		{"kept by default", nil, true, calgate.StatusCancelled, true},
		{"left out", nil, false, calgate.StatusCancelled, false},
		{"others stay", nil, false, calgate.StatusTentative, true},
		{"only cancelled, none wanted", []calgate.Status{calgate.StatusCancelled}, false, calgate.StatusCancelled, false},
		{"only cancelled, none wanted, confirmed", []calgate.Status{calgate.StatusCancelled}, false, calgate.StatusConfirmed, false},
		{"status filter", []calgate.Status{calgate.StatusConfirmed}, true, calgate.StatusTentative, false},
	}
	now := testNow()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &calgate.Feed{IncludeCancelled: tc.include, Filter: calgate.FeedFilter{Statuses: tc.statuses, PastDays: 90}}
			e := &calgate.Entry{Status: tc.status, Start: now, End: now.Add(1)}
			if got := f.Matches(e, now); got != tc.want {
				t.Fatalf("Matches = %v, want %v", got, tc.want)
			}
		})
	}
}
