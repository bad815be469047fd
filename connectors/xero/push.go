package xero

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Invoice statuses calgate reads.
const (
	statusSubmitted = "SUBMITTED"
	statusDeleted   = "DELETED"
	statusVoided    = "VOIDED"
)

// remoteData is what the link keeps besides the invoice's id.
type remoteData struct {
	ContactID   string `json:"contact_id,omitempty"`
	ContactName string `json:"contact_name,omitempty"`
}

func live(status string) bool {
	return status == StatusDraft || status == statusSubmitted || status == StatusAuthorised
}

// Push implements connectors.Vendor. A selected, confirmed entry has one
// live invoice: created when missing, else updated. An entry that is
// cancelled, archived, tentative or no longer selected has its invoice
// deleted (draft) or voided (authorised). A deleted or voided invoice
// stays so; confirming the entry again creates a new one.
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	m, err := decodeMapping(p.Connector.Mapping)
	if err != nil {
		return err
	}
	var data remoteData
	if len(p.Link.RemoteData) > 0 {
		_ = json.Unmarshal(p.Link.RemoteData, &data)
	}
	tenant := p.Connector.Account
	want := p.Selected && p.Entry.Status == calgate.StatusConfirmed
	if !want {
		if p.Link.RemoteID == "" || !live(p.Link.RemoteState) {
			return nil
		}
		inv, err := v.retire(ctx, c, tenant, p)
		if err != nil {
			return err
		}
		p.Link.RemoteState, p.Link.RemoteVersion = inv.Status, inv.UpdatedDateUTC
		return nil
	}
	sale := connectors.SaleOf(p.Entry, m.DefaultContact, m.Pricing)
	if data.ContactID == "" || data.ContactName != sale.Customer {
		id, err := v.contact(ctx, c, tenant, sale.Customer, sale.Email, sale.Phone, p)
		if err != nil {
			return err
		}
		data.ContactID, data.ContactName = id, sale.Customer
	}
	inv := v.invoice(p.Entry, sale, m, data.ContactID)
	var out *Invoice
	switch {
	case p.Link.RemoteID == "" && p.CreateRetried:
		// A create whose answer was lost: look for it before creating.
		found, err := v.findInvoice(ctx, c, tenant, inv.Reference, data.ContactID)
		if err != nil {
			return err
		}
		if found != nil {
			inv.InvoiceID = found.InvoiceID
			out, err = v.send(ctx, c, tenant, http.MethodPost, "update invoice", "/Invoices/"+url.PathEscape(found.InvoiceID), p.Key("update", found.UpdatedDateUTC), inv)
		} else if out, err = v.send(ctx, c, tenant, http.MethodPut, "create invoice", "/Invoices", p.CreateKey, inv); err == nil {
			// The answer may replay a create of an older version: update.
			inv.InvoiceID = out.InvoiceID
			out, err = v.send(ctx, c, tenant, http.MethodPost, "update invoice", "/Invoices/"+url.PathEscape(out.InvoiceID), p.Key("update", out.UpdatedDateUTC), inv)
		}
		if err != nil {
			return err
		}
	case p.Link.RemoteID == "" || !live(p.Link.RemoteState):
		key := p.CreateKey
		if p.Link.RemoteID != "" {
			key = p.Key("recreate", p.Link.RemoteID)
		}
		if out, err = v.send(ctx, c, tenant, http.MethodPut, "create invoice", "/Invoices", key, inv); err != nil {
			return err
		}
	default:
		inv.InvoiceID = p.Link.RemoteID
		if p.Link.RemoteState != m.Status && p.Link.RemoteState != StatusDraft {
			inv.Status = "" // an authorised invoice does not go back to draft
		}
		if out, err = v.send(ctx, c, tenant, http.MethodPost, "update invoice", "/Invoices/"+url.PathEscape(inv.InvoiceID), p.Key("update", p.Link.RemoteVersion), inv); err != nil {
			return err
		}
	}
	raw, _ := json.Marshal(data)
	p.Link.RemoteID, p.Link.RemoteVersion, p.Link.RemoteState, p.Link.RemoteData = out.InvoiceID, out.UpdatedDateUTC, out.Status, raw
	return nil
}

// invoice renders the entry's sale as a one-line ACCREC invoice.
func (v *Vendor) invoice(e *calgate.Entry, s connectors.Sale, m Mapping, contactID string) *Invoice {
	return &Invoice{Type: "ACCREC", Contact: &Contact{ContactID: contactID}, Reference: e.ExternalID, Status: m.Status,
		Date: s.Start.Format("2006-01-02"), DueDate: s.Start.AddDate(0, 0, m.dueDays()).Format("2006-01-02"),
		LineItems: []LineItem{{Description: s.Description, Quantity: s.Quantity,
			UnitAmount: math.Round(s.UnitPrice*100) / 100, AccountCode: m.AccountCode}}}
}

func (v *Vendor) api(path string, q url.Values) string {
	u := v.Config.APIURL + "/api.xro/2.0" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// call makes one accounting call for the tenant.
func (v *Vendor) call(ctx context.Context, c *connectors.Client, tenant, method, op, u, key string, body any) ([]byte, error) {
	h := http.Header{"Xero-Tenant-Id": {tenant}}
	if key != "" {
		h.Set("Idempotency-Key", key)
	}
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	resp, err := c.Do(ctx, connectors.Request{Operation: op, Method: method, URL: u, Body: raw, Header: h})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// contact finds the contact by Name, or creates it (a duplicate Name made
// by a concurrent push is looked up again).
func (v *Vendor) contact(ctx context.Context, c *connectors.Client, tenant, name, email, phone string, p *connectors.Push) (string, error) {
	if id, err := v.findContact(ctx, c, tenant, name); err != nil || id != "" {
		return id, err
	}
	ct := Contact{Name: name, EmailAddress: email}
	if phone != "" {
		ct.Phones = []Phone{{PhoneType: "DEFAULT", PhoneNumber: phone}}
	}
	body, err := v.call(ctx, c, tenant, http.MethodPut, "create contact", v.api("/Contacts", nil), p.Key("contact", name), map[string]any{"Contacts": []Contact{ct}})
	var he *connectors.HTTPError
	if errors.As(err, &he) && he.Status == 400 && strings.Contains(he.Text, "already assigned to another contact") {
		id, ferr := v.findContact(ctx, c, tenant, name)
		if ferr == nil && id == "" {
			ferr = err
		}
		return id, ferr
	}
	if err != nil {
		return "", err
	}
	var out struct {
		Contacts []Contact `json:"Contacts"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Contacts) == 0 || out.Contacts[0].ContactID == "" {
		return "", fmt.Errorf("xero: create contact: no contact in the answer (%v)", err)
	}
	return out.Contacts[0].ContactID, nil
}

func (v *Vendor) findContact(ctx context.Context, c *connectors.Client, tenant, name string) (string, error) {
	body, err := v.call(ctx, c, tenant, http.MethodGet, "find contact", v.api("/Contacts", url.Values{"where": {"Name==" + quote(name)}}), "", nil)
	if err != nil {
		return "", err
	}
	var out struct {
		Contacts []Contact `json:"Contacts"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("xero: find contact: %w", err)
	}
	for _, ct := range out.Contacts {
		if ct.ContactStatus != "ARCHIVED" {
			return ct.ContactID, nil
		}
	}
	return "", nil
}

// findInvoice looks for a live ACCREC invoice of the contact with the
// reference.
func (v *Vendor) findInvoice(ctx context.Context, c *connectors.Client, tenant, reference, contactID string) (*Invoice, error) {
	body, err := v.call(ctx, c, tenant, http.MethodGet, "find invoice", v.api("/Invoices", url.Values{"where": {"Reference==" + quote(reference)}}), "", nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		Invoices []Invoice `json:"Invoices"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("xero: find invoice: %w", err)
	}
	for i, inv := range out.Invoices {
		if inv.Type == "ACCREC" && live(inv.Status) && inv.Contact != nil && inv.Contact.ContactID == contactID {
			return &out.Invoices[i], nil
		}
	}
	return nil, nil
}

// send creates or updates an invoice and returns it as Xero holds it.
func (v *Vendor) send(ctx context.Context, c *connectors.Client, tenant, method, op, path, key string, inv *Invoice) (*Invoice, error) {
	body, err := v.call(ctx, c, tenant, method, op, v.api(path, nil), key, map[string]any{"Invoices": []*Invoice{inv}})
	if err != nil {
		return nil, err
	}
	var out struct {
		Invoices []Invoice `json:"Invoices"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Invoices) == 0 || out.Invoices[0].InvoiceID == "" {
		return nil, fmt.Errorf("xero: %s: no invoice in the answer (%v)", op, err)
	}
	return &out.Invoices[0], nil
}

// retire deletes a draft or voids an authorised invoice. When Xero refuses
// because someone changed the invoice's status there, it reads the status
// and acts on it.
func (v *Vendor) retire(ctx context.Context, c *connectors.Client, tenant string, p *connectors.Push) (*Invoice, error) {
	status := p.Link.RemoteState
	for try := 0; ; try++ {
		next := statusDeleted
		if status == StatusAuthorised {
			next = statusVoided
		}
		path := "/Invoices/" + url.PathEscape(p.Link.RemoteID)
		out, err := v.send(ctx, c, tenant, http.MethodPost, strings.ToLower(map[string]string{statusDeleted: "delete", statusVoided: "void"}[next])+" invoice",
			path, p.Key(next, status), &Invoice{InvoiceID: p.Link.RemoteID, Status: next})
		if connectors.StatusOf(err) != 400 || try > 0 {
			return out, err
		}
		body, gerr := v.call(ctx, c, tenant, http.MethodGet, "read invoice", v.api(path, nil), "", nil)
		if gerr != nil {
			return nil, err
		}
		var cur struct {
			Invoices []Invoice `json:"Invoices"`
		}
		if json.Unmarshal(body, &cur) != nil || len(cur.Invoices) == 0 {
			return nil, err
		}
		if !live(cur.Invoices[0].Status) {
			return &cur.Invoices[0], nil
		}
		if cur.Invoices[0].Status == status {
			return nil, err
		}
		status = cur.Invoices[0].Status
	}
}
