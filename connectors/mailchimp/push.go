package mailchimp

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Titles of Mailchimp's answers for addresses it will not take back.
var refusedForGood = map[string]bool{"Member In Compliance State": true, "Forgotten Email Not Subscribed": true}

// remoteData is what the link keeps: a hash of what was written for the
// entry, so an unchanged customer costs no call.
type remoteData struct {
	Hash string `json:"hash,omitempty"`
}

// SubscriberHash is the member's id in the API: the MD5 of the lowercased
// address.
func SubscriberHash(email string) string {
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// Push implements connectors.Vendor (a batch of one).
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	return v.PushBatch(ctx, c, []*connectors.Push{p})[0]
}

// member is what a batch writes for one address.
type member struct {
	put   MemberPut
	tags  map[string]bool
	items []int
}

// PushBatch implements connectors.BatchVendor. Each address of the
// batch's selected, not cancelled entries whose customer data or tags
// changed is written once: the member (PUT with status_if_new), then its
// tags. Entries without an e-mail, cancelled or unselected ones write
// nothing: a member stays on the audience.
func (v *Vendor) PushBatch(ctx context.Context, c *connectors.Client, ps []*connectors.Push) []error {
	errs := make([]error, len(ps))
	m, err := decodeMapping(ps[0].Connector.Mapping)
	if err != nil {
		return connectors.FailAll(len(ps), err)
	}
	base := c.Connector().AccountURL
	if base == "" {
		return connectors.FailAll(len(ps), fmt.Errorf("mailchimp: the connector has no data centre: %w", connectors.ErrReauth))
	}
	members := map[string]*member{}
	var order []string
	hashes := make([]string, len(ps))
	for i, p := range ps {
		e := p.Entry
		if !p.Selected || e.Status == calgate.StatusCancelled || e.Customer == nil || strings.TrimSpace(e.Customer.Email) == "" {
			continue
		}
		email := strings.TrimSpace(e.Customer.Email)
		put := MemberPut{EmailAddress: email, StatusIfNew: statusFor(e, m), MergeFields: mergeFields(e.Customer)}
		tags := tagsOf(e, m)
		raw, _ := json.Marshal(struct {
			P MemberPut
			T []string
		}{put, tags})
		sum := sha256.Sum256(raw)
		hashes[i] = hex.EncodeToString(sum[:8])
		var data remoteData
		_ = json.Unmarshal(p.Link.RemoteData, &data)
		if data.Hash == hashes[i] && p.Link.RemoteID == SubscriberHash(email) {
			continue
		}
		id := SubscriberHash(email)
		mb := members[id]
		if mb == nil {
			mb = &member{tags: map[string]bool{}}
			members[id] = mb
			order = append(order, id)
		}
		if mb.put.StatusIfNew == StatusSubscribed {
			put.StatusIfNew = StatusSubscribed // one consent in the batch is enough
		}
		mb.put = put
		for _, t := range tags {
			mb.tags[t] = true
		}
		mb.items = append(mb.items, i)
	}
	list := base + "/3.0/lists/" + url.PathEscape(m.ListID) + "/members/"
	for _, id := range order {
		mb := members[id]
		state, err := v.write(ctx, c, list+id, mb)
		for _, i := range mb.items {
			if err != nil {
				errs[i] = err
				continue
			}
			raw, _ := json.Marshal(remoteData{Hash: hashes[i]})
			ps[i].Link.RemoteID, ps[i].Link.RemoteState, ps[i].Link.RemoteData = id, state, raw
		}
	}
	return errs
}

// write puts one member and its tags and returns the member's status.
func (v *Vendor) write(ctx context.Context, c *connectors.Client, u string, mb *member) (string, error) {
	body, _ := json.Marshal(mb.put)
	resp, err := c.Do(ctx, connectors.Request{Operation: "put member", Method: http.MethodPut, URL: u, Body: body})
	var he *connectors.HTTPError
	if err != nil && errors.As(err, &he) && he.Status == http.StatusBadRequest {
		var p Problem
		if json.Unmarshal(he.Body, &p) == nil && refusedForGood[p.Title] {
			// Deleted for good or in compliance state: Mailchimp will not
			// take the address back, and calgate does not try again.
			return "refused", nil
		}
	}
	if err != nil {
		return "", err
	}
	var out Member
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return "", fmt.Errorf("mailchimp: put member: %w", err)
	}
	if len(mb.tags) == 0 {
		return out.Status, nil
	}
	names := make([]string, 0, len(mb.tags))
	for t := range mb.tags {
		names = append(names, t)
	}
	sort.Strings(names)
	tags := Tags{}
	for _, n := range names {
		tags.Tags = append(tags.Tags, Tag{Name: n, Status: "active"})
	}
	body, _ = json.Marshal(tags)
	if _, err := c.Do(ctx, connectors.Request{Operation: "tag member", Method: http.MethodPost, URL: u + "/tags", Body: body}); err != nil {
		return "", err
	}
	return out.Status, nil
}

// statusFor is the status a new member of the entry's customer gets.
func statusFor(e *calgate.Entry, m Mapping) string {
	if m.StatusIfNew != StatusSubscribed {
		return m.StatusIfNew
	}
	var attrs map[string]any
	if len(e.Attributes) > 0 && json.Unmarshal(e.Attributes, &attrs) == nil {
		switch x := attrs[m.ConsentAttribute].(type) {
		case bool:
			if x {
				return StatusSubscribed
			}
		case string:
			if s := strings.ToLower(strings.TrimSpace(x)); s == "true" || s == "yes" || s == "1" {
				return StatusSubscribed
			}
		}
	}
	return m.StatusWithoutConsent
}

// mergeFields splits the customer's name at its last space.
func mergeFields(cu *calgate.Customer) *MergeFields {
	mf := &MergeFields{PHONE: strings.TrimSpace(cu.Phone)}
	name := strings.Join(strings.Fields(cu.Name), " ")
	if i := strings.LastIndexByte(name, ' '); i > 0 {
		mf.FNAME, mf.LNAME = name[:i], name[i+1:]
	} else {
		mf.FNAME = name
	}
	if *mf == (MergeFields{}) {
		return nil
	}
	return mf
}

// tagsOf renders the mapping's tag templates for the entry.
func tagsOf(e *calgate.Entry, m Mapping) []string {
	var attrs map[string]any
	if len(e.Attributes) > 0 {
		_ = json.Unmarshal(e.Attributes, &attrs)
	}
	seen := map[string]bool{}
	var out []string
	for _, tpl := range m.Tags {
		t := tpl
		for _, r := range [][2]string{{"{resource}", e.Resource}, {"{kind}", string(e.Kind)}, {"{source}", e.Source}, {"{status}", string(e.Status)}} {
			t = strings.ReplaceAll(t, r[0], r[1])
		}
		for strings.Contains(t, "{attributes.") {
			i := strings.Index(t, "{attributes.")
			j := strings.IndexByte(t[i:], '}')
			if j < 0 {
				break
			}
			val := ""
			if x, ok := attrs[t[i+len("{attributes."):i+j]]; ok && x != nil {
				val = fmt.Sprint(x)
			}
			t = t[:i] + val + t[i+j+1:]
		}
		t = strings.TrimSpace(t)
		if utf8.RuneCountInString(t) > 100 {
			t = string([]rune(t)[:100])
		}
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
