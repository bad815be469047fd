package hubspot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Remote states of an entry's meeting.
const (
	stateMeeting   = "meeting"
	stateCancelled = "cancelled"
	stateArchived  = "archived"
)

// remoteData is what the link keeps besides the meeting's id.
type remoteData struct {
	ContactKey  string `json:"contact_key,omitempty"`
	ContactID   string `json:"contact_id,omitempty"`
	ContactHash string `json:"contact_hash,omitempty"`
	// Associated is the contact the meeting is associated with.
	Associated string `json:"associated,omitempty"`
	Order      string `json:"order,omitempty"`
	DealID     string `json:"deal_id,omitempty"`
	DealLinked string `json:"deal_linked,omitempty"`
}

// Push implements connectors.Vendor (a batch of one).
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	return v.PushBatch(ctx, c, []*connectors.Push{p})[0]
}

type item struct {
	i       int
	p       *connectors.Push
	data    remoteData
	key     string
	contact map[string]string
	hash    string
	order   string
	cancel  bool
}

// PushBatch implements connectors.BatchVendor: one batch upsert of the
// contacts whose data changed (by e-mail), one of the meetings (by the
// unique meeting property), and, only for what is new, one default
// association batch from meetings to contacts; with deals, one deal upsert
// and association batches to meetings and contacts. Cancelled entries'
// meetings are marked CANCELED in the meeting upsert, or archived in one
// batch.
func (v *Vendor) PushBatch(ctx context.Context, c *connectors.Client, ps []*connectors.Push) []error {
	errs := make([]error, len(ps))
	m, err := decodeMapping(ps[0].Connector.Mapping)
	if err != nil {
		return connectors.FailAll(len(ps), err)
	}
	var upserts, archives []*item
	for i, p := range ps {
		it := &item{i: i, p: p}
		if len(p.Link.RemoteData) > 0 {
			_ = json.Unmarshal(p.Link.RemoteData, &it.data)
		}
		held := p.Link.RemoteID != "" && (p.Link.RemoteState == stateMeeting || p.Link.RemoteState == stateCancelled)
		switch {
		case p.Selected && p.Entry.Status != calgate.StatusCancelled:
			it.key, it.contact, it.hash = contactOf(p.Entry)
			it.order = orderOf(p.Entry, m)
			upserts = append(upserts, it)
		case held && m.OnCancel == OnCancelMark && p.Entry != nil:
			if p.Link.RemoteState != stateCancelled {
				it.cancel, it.key = true, it.data.ContactKey
				upserts = append(upserts, it)
			}
		case held:
			archives = append(archives, it)
		}
	}
	contactIDs := v.contacts(ctx, c, upserts, errs)
	var sent []*item
	var inputs []UpsertInput
	for _, it := range upserts {
		if errs[it.i] != nil {
			continue
		}
		inputs = append(inputs, UpsertInput{IDProperty: m.MeetingIDProperty, ID: it.p.Link.EntryID, Properties: meeting(it.p.Entry, it.cancel)})
		sent = append(sent, it)
	}
	meetings := map[string]Object{}
	if len(inputs) > 0 {
		got, failed := v.upsert(ctx, c, "meetings", m.MeetingIDProperty, inputs)
		for _, it := range sent {
			if err := failed[it.p.Link.EntryID]; err != nil {
				errs[it.i] = err
				continue
			}
			meetings[it.p.Link.EntryID] = got[strings.ToLower(it.p.Link.EntryID)]
		}
	}
	// Associate new meetings (or meetings whose customer changed) with
	// their contact.
	var pairs []AssociationInput
	var pairItems []*item
	for _, it := range sent {
		if errs[it.i] != nil || it.cancel || it.key == "" {
			continue
		}
		mt, who := meetings[it.p.Link.EntryID], contactIDs[it.key]
		if who == "" && it.data.ContactKey == it.key {
			who = it.data.ContactID
		}
		if mt.New || it.data.Associated != who || it.p.Link.RemoteID != mt.ID {
			pairs = append(pairs, AssociationInput{From: ObjectID{ID: mt.ID}, To: ObjectID{ID: who}})
			pairItems = append(pairItems, it)
		}
		it.data.ContactKey, it.data.ContactID, it.data.ContactHash = it.key, who, it.hash
	}
	if len(pairs) > 0 {
		if err := v.associate(ctx, c, "meetings", "contacts", pairs); err != nil {
			for _, it := range pairItems {
				errs[it.i] = err
			}
		} else {
			for n, it := range pairItems {
				it.data.Associated = pairs[n].To.ID
			}
		}
	}
	if m.DealIDProperty != "" {
		v.deals(ctx, c, m, sent, meetings, errs)
	}
	for _, it := range sent {
		if errs[it.i] != nil {
			continue
		}
		l := it.p.Link
		l.RemoteID, l.RemoteState = meetings[l.EntryID].ID, stateMeeting
		if it.cancel {
			l.RemoteState = stateCancelled
		}
		l.RemoteData, _ = json.Marshal(it.data)
	}
	if len(archives) > 0 {
		ids := BatchIDs{}
		for _, it := range archives {
			ids.Inputs = append(ids.Inputs, ObjectID{ID: it.p.Link.RemoteID})
		}
		body, _ := json.Marshal(ids)
		_, err := c.Do(ctx, connectors.Request{Operation: fmt.Sprintf("archive %d meetings", len(archives)), Method: http.MethodPost,
			URL: v.Config.APIURL + "/crm/v3/objects/meetings/batch/archive", Body: body})
		for _, it := range archives {
			if err != nil {
				errs[it.i] = err
			} else {
				it.p.Link.RemoteState = stateArchived
			}
		}
	}
	return errs
}

// contacts upserts, by e-mail, the contacts of the items whose data
// changed since calgate wrote them, and returns their ids by key.
func (v *Vendor) contacts(ctx context.Context, c *connectors.Client, items []*item, errs []error) map[string]string {
	ids := map[string]string{}
	byKey := map[string]UpsertInput{}
	var order []string
	for _, it := range items {
		if it.contact == nil || (it.data.ContactKey == it.key && it.data.ContactHash == it.hash && it.data.ContactID != "") {
			continue
		}
		if _, seen := byKey[it.key]; !seen {
			order = append(order, it.key)
		}
		byKey[it.key] = UpsertInput{IDProperty: "email", ID: it.key, Properties: it.contact}
	}
	if len(order) == 0 {
		return ids
	}
	inputs := make([]UpsertInput, 0, len(order))
	for _, k := range order {
		inputs = append(inputs, byKey[k])
	}
	got, failed := v.upsert(ctx, c, "contacts", "email", inputs)
	for _, it := range items {
		if err := failed[it.key]; err != nil && it.contact != nil {
			errs[it.i] = err
		}
	}
	for k, o := range got {
		ids[k] = o.ID
	}
	return ids
}

// upsert sends a batch upsert. HubSpot refuses a whole batch for one bad
// input: then each input is sent alone, so only the bad one fails. It
// returns the records by their unique value (lowercased) and the errors by
// input id.
func (v *Vendor) upsert(ctx context.Context, c *connectors.Client, object, idProperty string, inputs []UpsertInput) (map[string]Object, map[string]error) {
	got, failed := map[string]Object{}, map[string]error{}
	body, _ := json.Marshal(BatchUpsert{Inputs: inputs})
	op := fmt.Sprintf("upsert %d %s", len(inputs), object)
	resp, err := c.Do(ctx, connectors.Request{Operation: op, Method: http.MethodPost, URL: v.Config.APIURL + "/crm/v3/objects/" + object + "/batch/upsert", Body: body})
	if connectors.StatusOf(err) == http.StatusBadRequest && len(inputs) > 1 {
		for _, in := range inputs {
			g, f := v.upsert(ctx, c, object, idProperty, []UpsertInput{in})
			for k, o := range g {
				got[k] = o
			}
			for k, e := range f {
				failed[k] = e
			}
		}
		return got, failed
	}
	if err != nil {
		for _, in := range inputs {
			failed[in.ID] = err
		}
		return got, failed
	}
	var out BatchResult
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		err = fmt.Errorf("hubspot: %s: %w", op, err)
		for _, in := range inputs {
			failed[in.ID] = err
		}
		return got, failed
	}
	for _, o := range out.Results {
		got[strings.ToLower(o.Properties[idProperty])] = o
	}
	for _, in := range inputs {
		if _, ok := got[strings.ToLower(in.ID)]; !ok {
			failed[in.ID] = fmt.Errorf("hubspot: %s: no result for %s", op, in.ID)
		}
	}
	return got, failed
}

// associate makes default associations in one batch.
func (v *Vendor) associate(ctx context.Context, c *connectors.Client, from, to string, pairs []AssociationInput) error {
	body, _ := json.Marshal(BatchAssociations{Inputs: pairs})
	_, err := c.Do(ctx, connectors.Request{Operation: fmt.Sprintf("associate %d %s with %s", len(pairs), from, to), Method: http.MethodPost,
		URL: v.Config.APIURL + "/crm/v4/associations/" + from + "/" + to + "/batch/associate/default", Body: body})
	return err
}

// deals upserts a deal per order of the batch and associates it with its
// meetings and contacts, once.
func (v *Vendor) deals(ctx context.Context, c *connectors.Client, m Mapping, items []*item, meetings map[string]Object, errs []error) {
	byOrder := map[string]UpsertInput{}
	var order []string
	for _, it := range items {
		if errs[it.i] != nil || it.order == "" || (it.data.Order == it.order && it.data.DealID != "") {
			continue
		}
		if _, seen := byOrder[it.order]; !seen {
			order = append(order, it.order)
		}
		byOrder[it.order] = UpsertInput{IDProperty: m.DealIDProperty, ID: it.order,
			Properties: map[string]string{"dealname": it.order, "pipeline": m.DealPipeline, "dealstage": m.DealStage}}
	}
	deals := map[string]string{}
	if len(order) > 0 {
		inputs := make([]UpsertInput, 0, len(order))
		for _, o := range order {
			inputs = append(inputs, byOrder[o])
		}
		got, failed := v.upsert(ctx, c, "deals", m.DealIDProperty, inputs)
		for _, it := range items {
			if err := failed[it.order]; err != nil && it.order != "" {
				errs[it.i] = err
			}
		}
		for k, o := range got {
			deals[k] = o.ID
		}
	}
	var toMeeting, toContact []AssociationInput
	var linked []*item
	for _, it := range items {
		if errs[it.i] != nil || it.order == "" {
			continue
		}
		deal := deals[strings.ToLower(it.order)]
		if deal == "" {
			deal = it.data.DealID
		}
		mt := meetings[it.p.Link.EntryID].ID
		if it.data.DealLinked == deal+"/"+mt {
			continue
		}
		toMeeting = append(toMeeting, AssociationInput{From: ObjectID{ID: deal}, To: ObjectID{ID: mt}})
		if it.data.ContactID != "" {
			toContact = append(toContact, AssociationInput{From: ObjectID{ID: deal}, To: ObjectID{ID: it.data.ContactID}})
		}
		it.data.Order, it.data.DealID = it.order, deal
		linked = append(linked, it)
	}
	if len(toMeeting) == 0 {
		return
	}
	err := v.associate(ctx, c, "deals", "meetings", toMeeting)
	if err == nil && len(toContact) > 0 {
		err = v.associate(ctx, c, "deals", "contacts", toContact)
	}
	for _, it := range linked {
		if err != nil {
			errs[it.i] = err
		} else {
			it.data.DealLinked = it.data.DealID + "/" + meetings[it.p.Link.EntryID].ID
		}
	}
}

// contactOf is the entry's customer as contact properties, keyed by the
// lowercased e-mail; no key without an e-mail.
func contactOf(e *calgate.Entry) (key string, props map[string]string, hash string) {
	if e.Customer == nil || strings.TrimSpace(e.Customer.Email) == "" {
		return "", nil, ""
	}
	key = strings.ToLower(strings.TrimSpace(e.Customer.Email))
	props = map[string]string{"email": key}
	name := strings.Join(strings.Fields(e.Customer.Name), " ")
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		props["firstname"], props["lastname"] = name[:i], name[i+1:]
	} else if name != "" {
		props["firstname"] = name
	}
	if ph := strings.TrimSpace(e.Customer.Phone); ph != "" {
		props["phone"] = ph
	}
	raw, _ := json.Marshal(props)
	sum := sha256.Sum256(raw)
	return key, props, hex.EncodeToString(sum[:8])
}

// orderOf is the entry's order: its order field, else the attribute.
func orderOf(e *calgate.Entry, m Mapping) string {
	if m.DealIDProperty == "" {
		return ""
	}
	if e.Order != "" {
		return e.Order
	}
	var attrs map[string]any
	if len(e.Attributes) > 0 && json.Unmarshal(e.Attributes, &attrs) == nil {
		if s, ok := attrs[m.OrderAttribute].(string); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

// meeting renders the entry as meeting properties; the outcome follows the
// status (CANCELED for a cancelled entry when marking).
func meeting(e *calgate.Entry, cancelled bool) map[string]string {
	title := e.Title
	if title == "" {
		title = e.Resource
	}
	start, end := e.Start.UTC().Format(time.RFC3339), e.End.UTC().Format(time.RFC3339)
	var body []string
	if d := strings.TrimSpace(e.Description); d != "" {
		body = append(body, d, "")
	}
	if e.Resource != "" {
		body = append(body, e.Kind.ResourceField()+": "+e.Resource)
	}
	if e.AllDay {
		loc := e.Loc()
		body = append(body, "all day, "+e.Start.In(loc).Format("2006-01-02")+" to "+e.End.In(loc).AddDate(0, 0, -1).Format("2006-01-02"))
	}
	body = append(body, fmt.Sprintf("calgate %s %s/%s", e.ID, e.Source, e.ExternalID))
	outcome := "SCHEDULED"
	if cancelled {
		outcome = "CANCELED"
	}
	props := map[string]string{"hs_timestamp": start, "hs_meeting_title": title, "hs_meeting_start_time": start, "hs_meeting_end_time": end,
		"hs_meeting_outcome": outcome, "hs_meeting_body": strings.Join(body, "\n"), "hs_meeting_location": strings.TrimSpace(e.Location)}
	return props
}
