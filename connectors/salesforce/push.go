package salesforce

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Remote states of an entry's Event.
const (
	stateEvent     = "event"
	stateCancelled = "cancelled"
	stateDeleted   = "deleted"
)

// remoteData is what the link keeps besides the Event's id: the Contact the
// Event is on, and a hash of what was written to it.
type remoteData struct {
	ContactKey  string `json:"contact_key,omitempty"`
	ContactID   string `json:"contact_id,omitempty"`
	ContactHash string `json:"contact_hash,omitempty"`
}

// Push implements connectors.Vendor (a batch of one).
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	return v.PushBatch(ctx, c, []*connectors.Push{p})[0]
}

// item is one push of a batch and what it needs.
type item struct {
	i       int
	p       *connectors.Push
	data    remoteData
	key     string // contact key ("" for none)
	contact *Contact
	hash    string
	mark    bool // keep the Event, marked cancelled
}

// PushBatch implements connectors.BatchVendor. A selected entry that is
// not cancelled has one Event: its customer's Contact is upserted first
// (once per batch, and only when what calgate writes to it changed), then
// the Events, each in one sObject Collections call. Other entries' Events
// are deleted in one call, or marked cancelled with the Event upsert when
// on_cancel is mark. Every write goes by external id, so a retry updates
// what the first try made.
func (v *Vendor) PushBatch(ctx context.Context, c *connectors.Client, ps []*connectors.Push) []error {
	errs := make([]error, len(ps))
	m, err := decodeMapping(ps[0].Connector.Mapping)
	if err != nil {
		return connectors.FailAll(len(ps), err)
	}
	instance := c.Connector().AccountURL
	if instance == "" {
		return connectors.FailAll(len(ps), fmt.Errorf("salesforce: the connector has no instance URL: %w", connectors.ErrReauth))
	}
	base := instance + "/services/data/v" + m.APIVersion
	var upserts, deletes []*item
	for i, p := range ps {
		it := &item{i: i, p: p}
		if len(p.Link.RemoteData) > 0 {
			_ = json.Unmarshal(p.Link.RemoteData, &it.data)
		}
		held := p.Link.RemoteID != "" && (p.Link.RemoteState == stateEvent || p.Link.RemoteState == stateCancelled)
		switch {
		case p.Selected && p.Entry.Status != calgate.StatusCancelled:
			it.key, it.contact, it.hash = contactOf(p.Entry)
			upserts = append(upserts, it)
		case held && m.OnCancel == OnCancelMark && p.Entry != nil:
			if p.Link.RemoteState == stateCancelled {
				continue
			}
			it.mark, it.key = true, it.data.ContactKey
			upserts = append(upserts, it)
		case held:
			deletes = append(deletes, it)
		}
	}
	// A Contact deleted in Salesforce meanwhile makes its Events fail on
	// WhoId: upsert those Contacts again and send those Events once more.
	if stale := v.write(ctx, c, base, m, upserts, false, errs); len(stale) > 0 {
		v.write(ctx, c, base, m, stale, true, errs)
	}

	if len(deletes) > 0 {
		ids := make([]string, 0, len(deletes))
		for _, it := range deletes {
			ids = append(ids, it.p.Link.RemoteID)
		}
		results, err := v.delete(ctx, c, base, ids)
		for n, it := range deletes {
			switch {
			case err != nil:
				errs[it.i] = err
			case !results[n].Success && !gone(results[n]):
				errs[it.i] = recordError("delete Event", results[n])
			default:
				it.p.Link.RemoteState = stateDeleted
			}
		}
	}
	return errs
}

// write upserts the Contacts the items need (all of them when force is
// set, else those whose content changed since calgate wrote them) and then
// the items' Events, recording outcomes in errs. It returns the items whose
// Event was refused for a Contact that is not there any more.
func (v *Vendor) write(ctx context.Context, c *connectors.Client, base string, m Mapping, items []*item, force bool, errs []error) (stale []*item) {
	contacts := map[string]*Contact{}
	var contactOrder []string
	for _, it := range items {
		if it.contact == nil {
			continue
		}
		if force || it.data.ContactKey != it.key || it.data.ContactHash != it.hash || it.data.ContactID == "" {
			if _, seen := contacts[it.key]; !seen {
				contactOrder = append(contactOrder, it.key)
			}
			contacts[it.key] = it.contact
		}
	}
	// Contacts first: the Events point at them.
	contactIDs := map[string]string{}
	contactErrs := map[string]error{}
	if len(contactOrder) > 0 {
		records := make([]Record, 0, len(contactOrder))
		for _, key := range contactOrder {
			records = append(records, Record{Type: "Contact", ExternalIDField: m.ContactExternalIDField, ExternalID: key, Fields: contacts[key]})
		}
		results, err := v.upsert(ctx, c, base, "Contact", m.ContactExternalIDField, records)
		for n, key := range contactOrder {
			switch {
			case err != nil:
				contactErrs[key] = err
			case !results[n].Success:
				contactErrs[key] = recordError("upsert Contact", results[n])
			default:
				contactIDs[key] = results[n].ID
			}
		}
	}
	var records []Record
	var sent []*item
	for _, it := range items {
		who := ""
		if it.key != "" {
			if err := contactErrs[it.key]; err != nil {
				errs[it.i] = err
				continue
			}
			who = contactIDs[it.key]
			if who == "" {
				who = v.keptContact(it)
			}
		}
		ev := v.event(it.p.Entry, m, who, it.mark)
		records = append(records, Record{Type: "Event", ExternalIDField: m.EventExternalIDField, ExternalID: it.p.Link.EntryID, Fields: ev})
		sent = append(sent, it)
	}
	if len(records) == 0 {
		return nil
	}
	results, err := v.upsert(ctx, c, base, "Event", m.EventExternalIDField, records)
	for n, it := range sent {
		switch {
		case err != nil:
			errs[it.i] = err
		case !results[n].Success:
			errs[it.i] = recordError("upsert Event", results[n])
			if !force && staleWho(results[n]) && it.contact != nil {
				stale = append(stale, it)
			}
		default:
			errs[it.i] = nil
			l := it.p.Link
			l.RemoteID, l.RemoteState = results[n].ID, stateEvent
			if it.mark {
				l.RemoteState = stateCancelled
			} else {
				kept := remoteData{}
				if it.key != "" {
					id := contactIDs[it.key]
					if id == "" {
						id = v.keptContact(it)
					}
					kept = remoteData{ContactKey: it.key, ContactID: id, ContactHash: it.hash}
				}
				it.data = kept
			}
			l.RemoteData, _ = json.Marshal(it.data)
		}
	}
	return stale
}

// staleWho reports an Event refused for its WhoId.
func staleWho(r SaveResult) bool {
	for _, e := range r.Errors {
		for _, f := range e.Fields {
			if f == "WhoId" && (e.StatusCode == CodeEntityIsDeleted || e.StatusCode == CodeInvalidCrossRefKey) {
				return true
			}
		}
	}
	return false
}

// keptContact is the Contact id an item already knew for its key.
func (v *Vendor) keptContact(it *item) string {
	if it.data.ContactKey == it.key {
		return it.data.ContactID
	}
	return ""
}

// gone reports a delete of an Event that is not there any more (deleted in
// Salesforce meanwhile): the wanted state.
func gone(r SaveResult) bool {
	for _, e := range r.Errors {
		if e.StatusCode == CodeEntityIsDeleted || e.StatusCode == CodeInvalidCrossRefKey || e.StatusCode == "NOT_FOUND" {
			return true
		}
	}
	return false
}

func recordError(op string, r SaveResult) error {
	parts := make([]string, 0, len(r.Errors))
	for _, e := range r.Errors {
		s := e.StatusCode + ": " + e.Message
		if len(e.Fields) > 0 {
			s += " (" + strings.Join(e.Fields, ", ") + ")"
		}
		parts = append(parts, s)
	}
	return &connectors.HTTPError{Operation: op, Status: http.StatusBadRequest, Text: strings.Join(parts, "; ")}
}

// call makes one REST call; REQUEST_LIMIT_EXCEEDED (the org's daily API
// requests are spent) waits an hour like a 429.
func (v *Vendor) call(ctx context.Context, c *connectors.Client, r connectors.Request) (*connectors.Response, error) {
	resp, err := c.Do(ctx, r)
	var he *connectors.HTTPError
	if errors.As(err, &he) && he.Status == http.StatusForbidden && strings.Contains(he.Text, CodeRequestLimitExceeded) {
		return nil, &connectors.RetryAfterError{Status: he.Status, Wait: limitWait, Text: he.Text}
	}
	return resp, err
}

// upsert sends one sObject Collections upsert and returns a result per
// record.
func (v *Vendor) upsert(ctx context.Context, c *connectors.Client, base, object, field string, records []Record) ([]SaveResult, error) {
	body, err := json.Marshal(CollectionRequest{AllOrNone: false, Records: records})
	if err != nil {
		return nil, fmt.Errorf("salesforce: encode %s records: %w", object, err)
	}
	op := fmt.Sprintf("upsert %d %s", len(records), object)
	if len(records) == 1 {
		op = "upsert " + object
	}
	resp, err := v.call(ctx, c, connectors.Request{Operation: op, Method: http.MethodPatch,
		URL: base + "/composite/sobjects/" + url.PathEscape(object) + "/" + url.PathEscape(field), Body: body})
	if err != nil {
		return nil, err
	}
	var out []SaveResult
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out) != len(records) {
		return nil, fmt.Errorf("salesforce: %s: %d results for %d records (%v)", op, len(out), len(records), err)
	}
	return out, nil
}

// delete deletes records by id in one sObject Collections call.
func (v *Vendor) delete(ctx context.Context, c *connectors.Client, base string, ids []string) ([]SaveResult, error) {
	q := url.Values{"ids": {strings.Join(ids, ",")}, "allOrNone": {"false"}}
	op := fmt.Sprintf("delete %d Event", len(ids))
	if len(ids) == 1 {
		op = "delete Event"
	}
	resp, err := v.call(ctx, c, connectors.Request{Operation: op, Method: http.MethodDelete, URL: base + "/composite/sobjects?" + q.Encode()})
	if err != nil {
		return nil, err
	}
	var out []SaveResult
	if err := json.Unmarshal(resp.Body, &out); err != nil || len(out) != len(ids) {
		return nil, fmt.Errorf("salesforce: %s: %d results for %d ids (%v)", op, len(out), len(ids), err)
	}
	return out, nil
}

// contactOf is the entry's customer as a Contact, keyed by the lowercased
// e-mail; no key when the customer has no e-mail.
func contactOf(e *calgate.Entry) (key string, ct *Contact, hash string) {
	if e.Customer == nil || strings.TrimSpace(e.Customer.Email) == "" {
		return "", nil, ""
	}
	email := strings.TrimSpace(e.Customer.Email)
	key = strings.ToLower(email)
	name := strings.Join(strings.Fields(e.Customer.Name), " ")
	ct = &Contact{Email: &email}
	if name == "" {
		ct.LastName = clipRunes(email, 80)
	} else if i := strings.LastIndexByte(name, ' '); i > 0 {
		first := clipRunes(name[:i], 40)
		ct.FirstName, ct.LastName = &first, clipRunes(name[i+1:], 80)
	} else {
		ct.LastName = clipRunes(name, 80)
	}
	if ph := strings.TrimSpace(e.Customer.Phone); ph != "" {
		ph = clipRunes(ph, 40)
		ct.Phone = &ph
	}
	raw, _ := json.Marshal(ct)
	sum := sha256.Sum256(raw)
	return key, ct, hex.EncodeToString(sum[:8])
}

// sfTime is Salesforce's dateTime form, in UTC.
const sfTime = "2006-01-02T15:04:05.000Z"

// event renders the entry as an Event on the Contact who ("" for none).
func (v *Vendor) event(e *calgate.Entry, m Mapping, who string, cancelled bool) *Event {
	loc := e.Loc()
	start, end := e.Start.In(loc), e.End.In(loc)
	subject := e.Title
	if subject == "" {
		subject = e.Resource
	}
	if subject == "" {
		subject = string(e.Kind)
	}
	if e.Status == calgate.StatusTentative {
		subject += " (tentative)"
	}
	ev := &Event{ShowAs: "Busy"}
	if cancelled {
		subject, ev.ShowAs = m.CancelledPrefix+subject, "Free"
	}
	ev.Subject = clipRunes(subject, 255)
	if who != "" {
		ev.WhoId = &who
	}
	var notes []string
	if d := strings.TrimSpace(e.Description); d != "" {
		notes = append(notes, d, "")
	}
	maxDur := time.Duration(m.MaxEventDays) * 24 * time.Hour
	if e.AllDay {
		days := int(end.Sub(start).Round(24*time.Hour) / (24 * time.Hour))
		days = min(max(days, 1), m.MaxEventDays)
		date, minutes := start.Format("2006-01-02"), days*24*60
		ev.IsAllDayEvent, ev.ActivityDate, ev.DurationInMinutes = true, &date, &minutes
		if end.Sub(start) > maxDur {
			notes = append(notes, "Until "+end.AddDate(0, 0, -1).Format("2006-01-02")+" (Salesforce events last at most "+fmt.Sprint(m.MaxEventDays)+" days).")
		}
	} else {
		s, f := e.Start.UTC(), e.End.UTC()
		if f.Sub(s) > maxDur {
			notes = append(notes, "Until "+end.Format("2006-01-02 15:04")+" "+loc.String()+" (Salesforce events last at most "+fmt.Sprint(m.MaxEventDays)+" days).")
			f = s.Add(maxDur)
		}
		st, en := s.Format(sfTime), f.Format(sfTime)
		ev.StartDateTime, ev.EndDateTime = &st, &en
	}
	if e.Resource != "" {
		notes = append(notes, e.Kind.ResourceField()+": "+e.Resource)
	}
	if e.Quantity != nil {
		notes = append(notes, fmt.Sprintf("quantity: %d", *e.Quantity))
	}
	if e.Order != "" {
		notes = append(notes, "order: "+e.Order)
	}
	notes = append(notes, fmt.Sprintf("calgate %s %s/%s", e.ID, e.Source, e.ExternalID))
	desc := clipRunes(strings.Join(notes, "\n"), 32000)
	ev.Description = &desc
	if l := strings.TrimSpace(e.Location); l != "" {
		l = clipRunes(l, 255)
		ev.Location = &l
	}
	return ev
}

// clipRunes cuts s to at most n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}
