package quickbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Remote states of a transaction.
const (
	stateOpen   = "open"
	stateVoided = "voided"
)

// remoteData is what the link keeps besides the transaction's id.
type remoteData struct {
	CustomerID   string `json:"customer_id,omitempty"`
	CustomerName string `json:"customer_name,omitempty"`
	Document     string `json:"document,omitempty"`
}

// entity names the document's endpoint and its key in answers.
func entity(doc string) (path, key string) {
	if doc == DocumentSalesReceipt {
		return "salesreceipt", "SalesReceipt"
	}
	return "invoice", "Invoice"
}

// Push implements connectors.Vendor. A selected, confirmed entry has one
// open document: created when missing (for the customer found by
// DisplayName or created), else brought up to date by a sparse update. An
// entry that is cancelled, archived, tentative or no longer selected has
// its document voided. A voided document stays voided; confirming the
// entry again creates a new one.
func (v *Vendor) Push(ctx context.Context, c *connectors.Client, p *connectors.Push) error {
	m, err := decodeMapping(p.Connector.Mapping)
	if err != nil {
		return err
	}
	var data remoteData
	if len(p.Link.RemoteData) > 0 {
		_ = json.Unmarshal(p.Link.RemoteData, &data)
	}
	if data.Document == "" {
		data.Document = m.Document
	}
	want := p.Selected && p.Entry.Status == calgate.StatusConfirmed
	realm := p.Connector.Account
	switch {
	case !want && p.Link.RemoteID != "" && p.Link.RemoteState == stateOpen:
		tx, err := v.void(ctx, c, realm, data.Document, p)
		if err != nil {
			return err
		}
		p.Link.RemoteVersion, p.Link.RemoteState = tx.SyncToken, stateVoided
		return nil
	case !want:
		return nil
	}
	sale := connectors.SaleOf(p.Entry, m.DefaultCustomer, m.Pricing)
	if data.CustomerID == "" || data.CustomerName != sale.Customer {
		id, err := v.customer(ctx, c, realm, sale.Customer, sale.Email, sale.Phone, p)
		if err != nil {
			return err
		}
		data.CustomerID, data.CustomerName = id, sale.Customer
	}
	tx := v.transaction(p.Entry, sale, m.ItemID, data.CustomerID)
	var out *Transaction
	if p.Link.RemoteID == "" || p.Link.RemoteState == stateVoided {
		data.Document = m.Document
		key := p.CreateKey
		if p.Link.RemoteID != "" {
			key = p.Key("recreate", p.Link.RemoteID)
		}
		out, err = v.write(ctx, c, realm, data.Document, "create", key, tx)
		if err == nil && p.CreateRetried {
			// The answer may be the replay of a create made for an older
			// version of the entry: bring the document up to date.
			p.Link.RemoteID, p.Link.RemoteVersion = out.ID, out.SyncToken
			out, err = v.update(ctx, c, realm, data.Document, p, v.transaction(p.Entry, sale, m.ItemID, data.CustomerID))
		}
	} else {
		out, err = v.update(ctx, c, realm, data.Document, p, tx)
	}
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(data)
	p.Link.RemoteID, p.Link.RemoteVersion, p.Link.RemoteState, p.Link.RemoteData = out.ID, out.SyncToken, stateOpen, raw
	return nil
}

// transaction renders the entry's sale as a one-line document.
func (v *Vendor) transaction(e *calgate.Entry, s connectors.Sale, itemID, customerID string) *Transaction {
	return &Transaction{
		CustomerRef: &Ref{Value: customerID},
		Line: []Line{{
			DetailType:  "SalesItemLineDetail",
			Amount:      s.Amount,
			Description: s.Description,
			SalesItemLineDetail: &SalesItemLineDetail{ItemRef: Ref{Value: itemID}, Qty: s.Quantity, UnitPrice: s.UnitPrice,
				ServiceDate: s.Start.Format("2006-01-02")},
		}},
		PrivateNote: fmt.Sprintf("calgate %s %s/%s", e.ID, e.Source, e.ExternalID),
	}
}

// customer finds the customer by DisplayName through the query endpoint,
// or creates it.
func (v *Vendor) customer(ctx context.Context, c *connectors.Client, realm, name, email, phone string, p *connectors.Push) (string, error) {
	if id, err := v.findCustomer(ctx, c, realm, name); err != nil || id != "" {
		return id, err
	}
	cu := Customer{DisplayName: name}
	if email != "" {
		cu.PrimaryEmailAddr = &EmailAddress{Address: email}
	}
	if phone != "" {
		cu.PrimaryPhone = &TelephoneNumber{FreeFormNumber: phone}
	}
	body, _ := json.Marshal(cu)
	resp, err := c.Do(ctx, connectors.Request{Operation: "create customer", Method: "POST",
		URL: v.url(realm, "customer", url.Values{"requestid": {p.Key("customer", name)}}), Body: body})
	var he *connectors.HTTPError
	if errors.As(err, &he) && he.Status == 400 && strings.Contains(he.Text, "code "+CodeDuplicateName) {
		// Created meanwhile by another push for the same customer.
		id, ferr := v.findCustomer(ctx, c, realm, name)
		if ferr == nil && id == "" {
			ferr = err
		}
		return id, ferr
	}
	if err != nil {
		return "", err
	}
	var out struct {
		Customer Customer `json:"Customer"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.Customer.ID == "" {
		return "", fmt.Errorf("quickbooks: create customer: no customer in the answer (%v)", err)
	}
	return out.Customer.ID, nil
}

// findCustomer looks a customer up by DisplayName; "" when there is none.
func (v *Vendor) findCustomer(ctx context.Context, c *connectors.Client, realm, name string) (string, error) {
	q := "select * from Customer where DisplayName = '" + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), "'", `\'`) + "'"
	resp, err := c.Do(ctx, connectors.Request{Operation: "query customer", Method: "GET", URL: v.url(realm, "query", url.Values{"query": {q}})})
	if err != nil {
		return "", err
	}
	var qr struct {
		QueryResponse struct {
			Customer []Customer `json:"Customer"`
		} `json:"QueryResponse"`
	}
	if err := json.Unmarshal(resp.Body, &qr); err != nil {
		return "", fmt.Errorf("quickbooks: query customer: %w", err)
	}
	if len(qr.QueryResponse.Customer) > 0 {
		return qr.QueryResponse.Customer[0].ID, nil
	}
	return "", nil
}

// write posts a document (create, or update when tx has an Id) with a
// requestid and returns the document the company holds.
func (v *Vendor) write(ctx context.Context, c *connectors.Client, realm, doc, op, requestID string, tx *Transaction, extra ...string) (*Transaction, error) {
	path, key := entity(doc)
	q := url.Values{"requestid": {requestID}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	body, _ := json.Marshal(tx)
	resp, err := c.Do(ctx, connectors.Request{Operation: op + " " + path, Method: "POST", URL: v.url(realm, path, q), Body: body})
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(resp.Body, &out); err != nil {
		return nil, fmt.Errorf("quickbooks: %s %s: %w", op, path, err)
	}
	var t Transaction
	if err := json.Unmarshal(out[key], &t); err != nil || t.ID == "" {
		return nil, fmt.Errorf("quickbooks: %s %s: no %s in the answer", op, path, key)
	}
	return &t, nil
}

// read fetches a document's current state (for its SyncToken).
func (v *Vendor) read(ctx context.Context, c *connectors.Client, realm, doc, id string) (*Transaction, error) {
	path, key := entity(doc)
	resp, err := c.Do(ctx, connectors.Request{Operation: "read " + path, Method: "GET", URL: v.url(realm, path+"/"+url.PathEscape(id), nil)})
	if err != nil {
		return nil, err
	}
	var out map[string]json.RawMessage
	var t Transaction
	if err := json.Unmarshal(resp.Body, &out); err != nil || json.Unmarshal(out[key], &t) != nil {
		return nil, fmt.Errorf("quickbooks: read %s %s: bad answer", path, id)
	}
	return &t, nil
}

// isStale reports a write refused for an old SyncToken.
func isStale(err error) bool {
	var he *connectors.HTTPError
	return errors.As(err, &he) && he.Status == 400 && strings.Contains(he.Text, "code "+CodeStaleObject)
}

// update sends a sparse update with the SyncToken calgate knows; when the
// company holds a newer one (someone edited the document), it reads the
// document and sends calgate's version again over it.
func (v *Vendor) update(ctx context.Context, c *connectors.Client, realm, doc string, p *connectors.Push, tx *Transaction) (*Transaction, error) {
	tx.ID, tx.SyncToken, tx.Sparse = p.Link.RemoteID, p.Link.RemoteVersion, true
	out, err := v.write(ctx, c, realm, doc, "update", p.Key("update", tx.SyncToken), tx)
	if !isStale(err) {
		return out, err
	}
	cur, err := v.read(ctx, c, realm, doc, p.Link.RemoteID)
	if err != nil {
		return nil, err
	}
	tx.SyncToken = cur.SyncToken
	return v.write(ctx, c, realm, doc, "update", p.Key("update", tx.SyncToken), tx)
}

// void voids a document: an Invoice with operation=void, a SalesReceipt
// with a sparse update and include=void.
func (v *Vendor) void(ctx context.Context, c *connectors.Client, realm, doc string, p *connectors.Push) (*Transaction, error) {
	send := func(syncToken string) (*Transaction, error) {
		tx := &Transaction{ID: p.Link.RemoteID, SyncToken: syncToken}
		if doc == DocumentSalesReceipt {
			tx.Sparse = true
			return v.write(ctx, c, realm, doc, "void", p.Key("void", syncToken), tx, "operation", "update", "include", "void")
		}
		return v.write(ctx, c, realm, doc, "void", p.Key("void", syncToken), tx, "operation", "void")
	}
	out, err := send(p.Link.RemoteVersion)
	if !isStale(err) {
		return out, err
	}
	cur, err := v.read(ctx, c, realm, doc, p.Link.RemoteID)
	if err != nil {
		return nil, err
	}
	return send(cur.SyncToken)
}
