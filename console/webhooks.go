package console

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/webhooks"
)

// Limits of the webhook pages.
const (
	maxEndpoints        = 500
	deliveriesPerPage   = 50
	responsePreviewSize = 200
)

type webhooksData struct {
	Endpoints []*calgate.Webhook
}

func (c *Console) webhooks(w http.ResponseWriter, r *http.Request, v *visit) {
	list, _, err := c.Webhooks.List(r.Context(), v.workspaceID(), "", maxEndpoints)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, r, http.StatusOK, "webhooks", v, webhooksData{Endpoints: list})
}

type webhookData struct {
	Endpoint   *calgate.Webhook
	Deliveries []deliveryRow
	Notice     string
	Test       *testRow
	// Secret is shown once, after a rotation.
	Secret string
	// ReplaySince is the default of the replay form: a day ago.
	ReplaySince string
}

type deliveryRow struct {
	D        *calgate.Delivery
	Attempts []attemptRow
}

type attemptRow struct {
	At       time.Time
	Status   string
	Latency  string
	Error    string
	Response string
}

type testRow struct {
	Succeeded bool
	Attempt   attemptRow
}

func attemptOf(at time.Time, status int, latency time.Duration, errText, response string) attemptRow {
	s := "no answer"
	if status > 0 {
		s = fmt.Sprint(status)
	}
	if len(response) > responsePreviewSize {
		n := responsePreviewSize
		for n > 0 && !utf8.RuneStart(response[n]) {
			n--
		}
		response = response[:n] + "…"
	}
	return attemptRow{At: at, Status: s, Latency: latency.Round(time.Millisecond).String(), Error: errText, Response: response}
}

func (c *Console) webhook(w http.ResponseWriter, r *http.Request, v *visit) {
	c.showWebhook(w, r, v, webhookData{Notice: noticeText(r.URL.Query().Get("done"))})
}

// notices are the messages shown after an action, by its name in the
// redirect ("done"); unknown names show nothing.
var notices = map[string]string{
	"retry":   "The delivery was sent again; its new attempt appears below when it is done.",
	"enabled": "The endpoint is enabled again.",
	"replay":  "The failed deliveries since that time were sent again.",
}

func noticeText(name string) string { return notices[name] }

func (c *Console) showWebhook(w http.ResponseWriter, r *http.Request, v *visit, d webhookData) {
	ctx, ws, id := r.Context(), v.workspaceID(), r.PathValue("id")
	h, err := c.Webhooks.Get(ctx, ws, id)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	list, _, err := c.Webhooks.Deliveries(ctx, ws, id, calgate.DeliveryFilter{Limit: deliveriesPerPage})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	d.Endpoint = h
	d.ReplaySince = c.Now().Add(-24 * time.Hour).In(zoneOf(&v.principal.Workspace)).Format("2006-01-02T15:04")
	for _, del := range list {
		row := deliveryRow{D: del}
		for _, a := range del.Log {
			row.Attempts = append(row.Attempts, attemptOf(a.At, a.StatusCode, a.Latency, a.Error, a.Response))
		}
		d.Deliveries = append(d.Deliveries, row)
	}
	c.render(w, r, http.StatusOK, "webhook", v, d)
}

func (c *Console) back(w http.ResponseWriter, r *http.Request, done string) {
	http.Redirect(w, r, "/console/webhooks/"+r.PathValue("id")+"?done="+done, http.StatusSeeOther)
}

func (c *Console) retryDelivery(w http.ResponseWriter, r *http.Request, v *visit) {
	if _, err := c.Webhooks.Retry(r.Context(), v.workspaceID(), r.PathValue("id"), r.PathValue("delivery")); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.back(w, r, "retry")
}

func (c *Console) testWebhook(w http.ResponseWriter, r *http.Request, v *visit) {
	res, err := c.Webhooks.Test(r.Context(), v.workspaceID(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	a := res.Attempt
	c.showWebhook(w, r, v, webhookData{Test: &testRow{Succeeded: a.Outcome == webhooks.Succeeded,
		Attempt: attemptOf(a.At, a.StatusCode, a.Latency, a.Error, a.ResponseBody)}})
}

func (c *Console) rotateWebhook(w http.ResponseWriter, r *http.Request, v *visit) {
	secret, err := c.Webhooks.RotateSecret(r.Context(), v.workspaceID(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	c.showWebhook(w, r, v, webhookData{Secret: secret,
		Notice: "The secret was replaced; the old one keeps signing for 24 hours."})
}

func (c *Console) enableWebhook(w http.ResponseWriter, r *http.Request, v *visit) {
	off := false
	if _, err := c.Webhooks.Update(r.Context(), v.workspaceID(), r.PathValue("id"), webhooks.EndpointInput{Disabled: &off}); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.back(w, r, "enabled")
}

// replayWebhook sends again every delivery that failed since the form's
// time (in the workspace's zone).
func (c *Console) replayWebhook(w http.ResponseWriter, r *http.Request, v *visit) {
	since, err := time.ParseInLocation("2006-01-02T15:04", r.PostForm.Get("since"), zoneOf(&v.principal.Workspace))
	if err != nil {
		c.fail(w, r, v, &calgate.ValidationError{Errors: []calgate.FieldError{{Field: "since", Message: "must be a date and time"}}})
		return
	}
	if _, err := c.Webhooks.Replay(r.Context(), v.workspaceID(), r.PathValue("id"), since); err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.back(w, r, "replay")
}
