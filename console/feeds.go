package console

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/feeds"
)

// maxFeeds caps the feeds the console lists.
const maxFeeds = 500

type feedsData struct {
	Feeds   []feedRow
	Created string // id of the feed just created or rotated
	Form    feedForm
	Errors  []calgate.FieldError
	Kinds   []kindBox
	States  []kindBox
}

// feedRow is a feed with its webcal:// link, which the feeds service
// builds from the gateway's public URL and the feed's token; html/template
// would otherwise refuse the scheme.
type feedRow struct {
	feeds.View
	Webcal template.URL
}

// feedForm is the filter form as typed, shown again after an error.
type feedForm struct {
	Name, Resources, Sources, PastDays string
	IncludeCancelled                   bool
}

func (c *Console) feeds(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showFeeds(w, r, v, http.StatusOK, feedsData{Created: r.URL.Query().Get("created"),
		Form: feedForm{PastDays: strconv.Itoa(calgate.DefaultFeedPastDays), IncludeCancelled: true}})
}

func (c *Console) showFeeds(w http.ResponseWriter, r *http.Request, v *visit, status int, d feedsData) {
	list, _, err := c.Feeds.List(r.Context(), v.workspaceID(), "", maxFeeds)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	for _, f := range list {
		d.Feeds = append(d.Feeds, feedRow{View: f, Webcal: webcalURL(f.WebcalURL)})
	}
	checked := func(name, value string) bool {
		for _, x := range r.PostForm[name] {
			if x == value {
				return true
			}
		}
		return false
	}
	for _, k := range calgate.Kinds {
		d.Kinds = append(d.Kinds, kindBox{Kind: string(k), Label: strings.ReplaceAll(string(k), "_", " "), Checked: checked("kinds", string(k))})
	}
	for _, s := range []calgate.Status{calgate.StatusTentative, calgate.StatusConfirmed, calgate.StatusCancelled} {
		d.States = append(d.States, kindBox{Kind: string(s), Label: string(s), Checked: checked("statuses", string(s))})
	}
	c.render(w, r, status, "feeds", v, d)
}

// webcalURL passes a webcal:// URL without quotes, brackets or spaces as
// a trusted link; anything else gives no link.
func webcalURL(s string) template.URL {
	if strings.HasPrefix(s, "webcal://") && !strings.ContainsAny(s, "\"'<> ") {
		return template.URL(s)
	}
	return ""
}

// splitList reads a comma-separated list, dropping empty items.
func splitList(s string) []string {
	out := []string{}
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// createFeed makes a feed from the filter form through the feeds service,
// which validates it as it validates the API's.
func (c *Console) createFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	f := r.PostForm
	form := feedForm{Name: f.Get("name"), Resources: f.Get("resources"), Sources: f.Get("sources"),
		PastDays: strings.TrimSpace(f.Get("past_days")), IncludeCancelled: f.Get("include_cancelled") != ""}
	in := feeds.Input{Name: &form.Name, IncludeCancelled: &form.IncludeCancelled}
	kinds := []calgate.Kind{}
	for _, k := range f["kinds"] {
		kinds = append(kinds, calgate.Kind(k))
	}
	states := []calgate.Status{}
	for _, s := range f["statuses"] {
		states = append(states, calgate.Status(s))
	}
	resources, sources := splitList(form.Resources), splitList(form.Sources)
	in.Kinds, in.Statuses, in.Resources, in.Sources = &kinds, &states, &resources, &sources
	if form.PastDays != "" {
		n, err := strconv.Atoi(form.PastDays)
		if err != nil {
			c.showFeeds(w, r, v, http.StatusUnprocessableEntity, feedsData{Form: form,
				Errors: []calgate.FieldError{{Field: "past_days", Message: "must be a whole number of days"}}})
			return
		}
		in.PastDays = &n
	}
	view, err := c.Feeds.Create(r.Context(), &v.principal.Workspace, &in)
	if ve := (*calgate.ValidationError)(nil); errors.As(err, &ve) {
		c.showFeeds(w, r, v, http.StatusUnprocessableEntity, feedsData{Form: form, Errors: ve.Errors})
		return
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/console/feeds?created="+view.ID+"#feed-"+view.ID, http.StatusSeeOther)
}

// rotateFeed gives a feed a new URL; the old one stops answering.
func (c *Console) rotateFeed(w http.ResponseWriter, r *http.Request, v *visit) {
	view, err := c.Feeds.Rotate(r.Context(), v.workspaceID(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/console/feeds?created="+view.ID+"#feed-"+view.ID, http.StatusSeeOther)
}
