package feeds

import (
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/ical"
)

// Limits of a feed's settings, documented in the README.
const (
	// MaxNameLength bounds the name, in characters.
	MaxNameLength = 200
	MaxPastDays   = 3650
	// MaxFilterValues bounds each list of the filter.
	MaxFilterValues = calgate.MaxFilterValues
	// MaxTemplateLength bounds each title or description template, in
	// bytes.
	MaxTemplateLength = 4096
)

// Input is the body of a create (every unset field takes its default) or
// of a patch (unset fields keep their value).
type Input struct {
	Name                 *string                  `json:"name"`
	Kinds                *[]calgate.Kind          `json:"kinds"`
	Resources            *[]string                `json:"resources"`
	Statuses             *[]calgate.Status        `json:"statuses"`
	Sources              *[]string                `json:"sources"`
	PastDays             *int                     `json:"past_days"`
	Timezone             *string                  `json:"timezone"`
	IncludeCancelled     *bool                    `json:"include_cancelled"`
	Availability         *bool                    `json:"availability"`
	TitleTemplates       *map[calgate.Kind]string `json:"title_templates"`
	DescriptionTemplates *map[calgate.Kind]string `json:"description_templates"`
}

// View is how a feed is shown by the API. URL and WebcalURL are the
// subscribable addresses.
type View struct {
	ID                   string                  `json:"id"`
	Name                 string                  `json:"name"`
	Kinds                []calgate.Kind          `json:"kinds"`
	Resources            []string                `json:"resources"`
	Statuses             []calgate.Status        `json:"statuses"`
	Sources              []string                `json:"sources"`
	PastDays             int                     `json:"past_days"`
	Timezone             string                  `json:"timezone"`
	IncludeCancelled     bool                    `json:"include_cancelled"`
	Availability         bool                    `json:"availability"`
	TitleTemplates       map[calgate.Kind]string `json:"title_templates"`
	DescriptionTemplates map[calgate.Kind]string `json:"description_templates"`
	URL                  string                  `json:"url"`
	WebcalURL            string                  `json:"webcal_url"`
	CreatedAt            time.Time               `json:"created_at"`
	UpdatedAt            time.Time               `json:"updated_at"`
}

// apply copies the set fields of in onto f and validates the result; every
// bad field is named in the returned *calgate.ValidationError.
func (in *Input) apply(f *calgate.Feed) error {
	v := &calgate.ValidationError{}
	if in.Name != nil {
		f.Name = strings.TrimSpace(*in.Name)
	}
	switch {
	case f.Name == "":
		v.Add("name", "is required")
	case utf8.RuneCountInString(f.Name) > MaxNameLength:
		v.Add("name", "is longer than %d characters", MaxNameLength)
	default:
		v.Line("name", f.Name, 0)
	}
	if in.Kinds != nil {
		f.Filter.Kinds = dedupe(*in.Kinds)
		for i, k := range f.Filter.Kinds {
			if !k.Valid() {
				v.Add("kinds["+itoa(i)+"]", "unknown kind %q (reservation, job or production_window)", k)
			}
		}
	}
	if in.Statuses != nil {
		f.Filter.Statuses = dedupe(*in.Statuses)
		for i, s := range f.Filter.Statuses {
			if !s.Valid() {
				v.Add("statuses["+itoa(i)+"]", "unknown status %q (tentative, confirmed or cancelled)", s)
			}
		}
	}
	if in.Resources != nil {
		f.Filter.Resources = dedupe(*in.Resources)
	}
	if in.Sources != nil {
		f.Filter.Sources = dedupe(*in.Sources)
	}
	v.FilterLists("", len(f.Filter.Kinds), f.Filter.Resources, len(f.Filter.Statuses), f.Filter.Sources)
	if in.PastDays != nil {
		f.Filter.PastDays = *in.PastDays
		if f.Filter.PastDays < 0 || f.Filter.PastDays > MaxPastDays {
			v.Add("past_days", "must be from 0 to %d", MaxPastDays)
		}
	}
	if in.Timezone != nil {
		f.Timezone = *in.Timezone
		if _, err := calgate.LoadZone(f.Timezone); err != nil {
			v.Add("timezone", "%v", err)
		}
	}
	if in.IncludeCancelled != nil {
		f.IncludeCancelled = *in.IncludeCancelled
	}
	if in.Availability != nil {
		f.Availability = *in.Availability
	}
	if in.TitleTemplates != nil {
		f.TitleTemplates = checkTemplates(v, "title_templates", *in.TitleTemplates)
	}
	if in.DescriptionTemplates != nil {
		f.DescriptionTemplates = checkTemplates(v, "description_templates", *in.DescriptionTemplates)
	}
	return v.Err()
}

// checkTemplates validates per-kind templates; an empty template removes
// the kind's entry.
func checkTemplates(v *calgate.ValidationError, field string, m map[calgate.Kind]string) map[calgate.Kind]string {
	out := map[calgate.Kind]string{}
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, string(k))
	}
	sort.Strings(kinds)
	if len(kinds) > len(calgate.Kinds) {
		v.Add(field, "at most one template per kind (%d kinds)", len(calgate.Kinds))
		return nil
	}
	for _, name := range kinds {
		k := calgate.Kind(name)
		src := m[k]
		if !k.Valid() {
			v.Add(field+"."+name, "unknown kind (reservation, job or production_window)")
			continue
		}
		if src == "" {
			continue
		}
		if !v.Text(field+"."+name, src, MaxTemplateLength) {
			continue
		}
		if _, err := ical.ParseTemplate(src); err != nil {
			v.Add(field+"."+name, "%v", err)
			continue
		}
		out[k] = src
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func dedupe[T comparable](in []T) []T {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[T]bool, len(in))
	out := make([]T, 0, len(in))
	for _, x := range in {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// view builds the API view of a feed with its URLs (empty when the token
// cannot be recovered).
func view(f *calgate.Feed, url string) View {
	v := View{ID: f.ID, Name: f.Name, Kinds: f.Filter.Kinds, Resources: f.Filter.Resources,
		Statuses: f.Filter.Statuses, Sources: f.Filter.Sources, PastDays: f.Filter.PastDays,
		Timezone: f.Timezone, IncludeCancelled: f.IncludeCancelled, Availability: f.Availability,
		TitleTemplates: f.TitleTemplates, DescriptionTemplates: f.DescriptionTemplates,
		URL: url, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt}
	if v.Kinds == nil {
		v.Kinds = []calgate.Kind{}
	}
	if v.Resources == nil {
		v.Resources = []string{}
	}
	if v.Statuses == nil {
		v.Statuses = []calgate.Status{}
	}
	if v.Sources == nil {
		v.Sources = []string{}
	}
	if v.TitleTemplates == nil {
		v.TitleTemplates = map[calgate.Kind]string{}
	}
	if v.DescriptionTemplates == nil {
		v.DescriptionTemplates = map[calgate.Kind]string{}
	}
	if rest, ok := strings.CutPrefix(url, "https://"); ok {
		v.WebcalURL = "webcal://" + rest
	} else if rest, ok := strings.CutPrefix(url, "http://"); ok {
		v.WebcalURL = "webcal://" + rest
	}
	return v
}
