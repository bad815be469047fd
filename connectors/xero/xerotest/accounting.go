package xerotest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"
)

type phone struct {
	PhoneType   string `json:"PhoneType"`
	PhoneNumber string `json:"PhoneNumber,omitempty"`
}

type contact struct {
	ContactID     string  `json:"ContactID,omitempty"`
	Name          string  `json:"Name,omitempty"`
	EmailAddress  string  `json:"EmailAddress,omitempty"`
	Phones        []phone `json:"Phones,omitempty"`
	ContactStatus string  `json:"ContactStatus,omitempty"`
}

type lineItem struct {
	LineItemID  string   `json:"LineItemID,omitempty"`
	Description string   `json:"Description"`
	Quantity    *float64 `json:"Quantity,omitempty"`
	UnitAmount  *float64 `json:"UnitAmount,omitempty"`
	AccountCode string   `json:"AccountCode,omitempty"`
	LineAmount  float64  `json:"LineAmount,omitempty"`
}

type invoice struct {
	InvoiceID      string     `json:"InvoiceID,omitempty"`
	Type           string     `json:"Type,omitempty"`
	Contact        *contact   `json:"Contact,omitempty"`
	LineItems      []lineItem `json:"LineItems,omitempty"`
	Date           string     `json:"Date,omitempty"`
	DueDate        string     `json:"DueDate,omitempty"`
	Reference      string     `json:"Reference,omitempty"`
	Status         string     `json:"Status,omitempty"`
	InvoiceNumber  string     `json:"InvoiceNumber,omitempty"`
	UpdatedDateUTC string     `json:"UpdatedDateUTC,omitempty"`
	Total          float64    `json:"Total,omitempty"`
}

// Invoice is an invoice as tests see it.
type Invoice struct {
	ID, ContactName, Reference, Status, Description, AccountCode, Date, DueDate string
	Quantity, UnitAmount, Total                                                 float64
}

// Invoices lists the organisation's invoices in the order they were made.
func (s *Server) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invoice
	for _, id := range s.order {
		inv := s.invoices[id]
		v := Invoice{ID: inv.InvoiceID, Reference: inv.Reference, Status: inv.Status, Date: inv.Date, DueDate: inv.DueDate, Total: inv.Total}
		for _, c := range s.contacts {
			if inv.Contact != nil && c.ContactID == inv.Contact.ContactID {
				v.ContactName = c.Name
			}
		}
		if len(inv.LineItems) > 0 {
			li := inv.LineItems[0]
			v.Description, v.AccountCode = li.Description, li.AccountCode
			if li.Quantity != nil {
				v.Quantity = *li.Quantity
			}
			if li.UnitAmount != nil {
				v.UnitAmount = *li.UnitAmount
			}
		}
		out = append(out, v)
	}
	return out
}

// Contacts lists the contacts' names.
func (s *Server) Contacts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.contacts {
		out = append(out, c.Name)
	}
	return out
}

// SetStatus changes an invoice's status as a person in Xero would (to
// approve a draft, say).
func (s *Server) SetStatus(id, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if inv := s.invoices[id]; inv != nil {
		inv.Status, inv.UpdatedDateUTC = status, msDate(time.Now())
	}
}

// msDate is the form of dates in Xero's JSON: /Date(milliseconds+0000)/.
func msDate(t time.Time) string { return fmt.Sprintf("/Date(%d+0000)/", t.UnixMilli()) }

// accountCodes are the organisation's revenue accounts.
var accountCodes = map[string]bool{"200": true, "260": true}

var whereEquals = regexp.MustCompile(`^(Name|Reference)=="((?:[^"\\]|\\.)*)"$`)

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		validation(w, "The request body could not be read: "+err.Error())
		return false
	}
	return true
}

// route serves one accounting call and returns the operation done.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string) string {
	switch {
	case path == "/Contacts" && r.Method == http.MethodGet:
		field, value, ok := where(r)
		if !ok || (field != "" && field != "Name") {
			validation(w, "this fake answers where=Name==\"…\"")
			return "find contact"
		}
		s.mu.Lock()
		list := []*contact{}
		for _, c := range s.contacts {
			if field == "" || strings.EqualFold(c.Name, value) {
				list = append(list, c)
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Contacts": list})
		return "find contact"
	case path == "/Contacts" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		return s.createContacts(w, r)
	case path == "/Invoices" && r.Method == http.MethodGet:
		field, value, ok := where(r)
		if !ok || (field != "" && field != "Reference") {
			validation(w, "this fake answers where=Reference==\"…\"")
			return "find invoice"
		}
		s.mu.Lock()
		list := []*invoice{}
		for _, id := range s.order {
			if inv := s.invoices[id]; field == "" || inv.Reference == value {
				list = append(list, inv)
			}
		}
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": list})
		return "find invoice"
	case path == "/Invoices" && r.Method == http.MethodPut:
		return s.createInvoice(w, r)
	case strings.HasPrefix(path, "/Invoices/") && r.Method == http.MethodGet:
		s.mu.Lock()
		inv := s.invoices[strings.TrimPrefix(path, "/Invoices/")]
		s.mu.Unlock()
		if inv == nil {
			problem(w, http.StatusNotFound, "Not Found", "The resource you're looking for cannot be found")
			return "read invoice"
		}
		writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": []*invoice{inv}})
		return "read invoice"
	case strings.HasPrefix(path, "/Invoices/") && r.Method == http.MethodPost:
		return s.updateInvoice(w, r, strings.TrimPrefix(path, "/Invoices/"))
	}
	problem(w, http.StatusNotFound, "Not Found", r.Method+" "+path+" is not served by this fake")
	return "unsupported"
}

// where reads a where=Field=="value" filter ("" when there is none).
func where(r *http.Request) (field, value string, ok bool) {
	raw := r.URL.Query().Get("where")
	if raw == "" {
		return "", "", true
	}
	m := whereEquals.FindStringSubmatch(strings.TrimSpace(raw))
	if m == nil {
		return "", "", false
	}
	return m[1], strings.ReplaceAll(m[2], `\"`, `"`), true
}

func (s *Server) createContacts(w http.ResponseWriter, r *http.Request) string {
	var in struct {
		Contacts []contact `json:"Contacts"`
	}
	if !decodeStrict(w, r, &in) {
		return "create contact"
	}
	if len(in.Contacts) != 1 || strings.TrimSpace(in.Contacts[0].Name) == "" {
		validation(w, "The contact name must be specified.")
		return "create contact"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := in.Contacts[0]
	for _, other := range s.contacts {
		if other.ContactStatus == "ACTIVE" && strings.EqualFold(other.Name, c.Name) {
			validation(w, fmt.Sprintf("The contact name %s is already assigned to another contact. The contact name must be unique across all active contacts.", c.Name))
			return "create contact"
		}
	}
	c.ContactID, c.ContactStatus = guid(), "ACTIVE"
	s.contacts = append(s.contacts, &c)
	s.Counts.Add("create contact")
	writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Contacts": []*contact{&c}})
	return "create contact"
}

// checkInvoice refuses what Xero refuses in an invoice's content.
func (s *Server) checkInvoice(inv *invoice) []string {
	var errs []string
	if inv.Type != "ACCREC" && inv.Type != "ACCPAY" {
		errs = append(errs, "Invoice Type must be ACCREC or ACCPAY")
	}
	found := false
	for _, c := range s.contacts {
		found = found || (inv.Contact != nil && c.ContactID == inv.Contact.ContactID)
	}
	if !found {
		errs = append(errs, "A Contact must be specified for this type of transaction")
	}
	if len(inv.LineItems) == 0 {
		errs = append(errs, "Invoices must have at least one line item.")
	}
	for _, li := range inv.LineItems {
		if strings.TrimSpace(li.Description) == "" {
			errs = append(errs, "Description must be specified.")
		}
		if li.AccountCode != "" && !accountCodes[li.AccountCode] {
			errs = append(errs, "Account code '"+li.AccountCode+"' is not a valid code for this document.")
		}
	}
	for _, d := range []string{inv.Date, inv.DueDate} {
		if d != "" {
			if _, err := time.Parse("2006-01-02", d); err != nil {
				errs = append(errs, "Date '"+d+"' is not valid")
			}
		}
	}
	switch inv.Status {
	case "DRAFT", "SUBMITTED":
	case "AUTHORISED":
		if inv.DueDate == "" {
			errs = append(errs, "Due Date is required for an authorised invoice.")
		}
	default:
		errs = append(errs, "Invoice Status '"+inv.Status+"' is not valid here")
	}
	return errs
}

func total(items []lineItem) float64 {
	t := 0.0
	for i := range items {
		q, u := 1.0, 0.0
		if items[i].Quantity != nil {
			q = *items[i].Quantity
		}
		if items[i].UnitAmount != nil {
			u = *items[i].UnitAmount
		}
		items[i].LineAmount = math.Round(q*u*100) / 100
		if items[i].LineItemID == "" {
			items[i].LineItemID = guid()
		}
		t += items[i].LineAmount
	}
	return math.Round(t*100) / 100
}

func (s *Server) createInvoice(w http.ResponseWriter, r *http.Request) string {
	var in struct {
		Invoices []invoice `json:"Invoices"`
	}
	if !decodeStrict(w, r, &in) {
		return "create invoice"
	}
	if len(in.Invoices) != 1 || in.Invoices[0].InvoiceID != "" {
		validation(w, "one new invoice is expected")
		return "create invoice"
	}
	inv := in.Invoices[0]
	if inv.Status == "" {
		inv.Status = "DRAFT"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if errs := s.checkInvoice(&inv); len(errs) > 0 {
		validation(w, errs...)
		return "create invoice"
	}
	inv.InvoiceID, inv.InvoiceNumber, inv.UpdatedDateUTC = guid(), fmt.Sprintf("INV-%04d", s.nextNumber), msDate(time.Now())
	s.nextNumber++
	inv.Total = total(inv.LineItems)
	s.invoices[inv.InvoiceID] = &inv
	s.order = append(s.order, inv.InvoiceID)
	s.Counts.Add("create invoice")
	writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": []*invoice{&inv}})
	return "create invoice"
}

// updateInvoice changes an invoice: its content while it is a draft,
// submitted or authorised; its status to DELETED from a draft or
// submitted, to VOIDED from authorised.
func (s *Server) updateInvoice(w http.ResponseWriter, r *http.Request, id string) string {
	var in struct {
		Invoices []invoice `json:"Invoices"`
	}
	if !decodeStrict(w, r, &in) {
		return "update invoice"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.invoices[id]
	if cur == nil {
		problem(w, http.StatusNotFound, "Not Found", "The resource you're looking for cannot be found")
		return "update invoice"
	}
	if len(in.Invoices) != 1 || (in.Invoices[0].InvoiceID != "" && in.Invoices[0].InvoiceID != id) {
		validation(w, "one invoice, the one of the URL, is expected")
		return "update invoice"
	}
	u := in.Invoices[0]
	switch u.Status {
	case "DELETED":
		if cur.Status != "DRAFT" && cur.Status != "SUBMITTED" {
			validation(w, "Invoice not of valid status for modification. Only invoices with a status of DRAFT or SUBMITTED can be deleted.")
			return "delete invoice"
		}
		cur.Status, cur.UpdatedDateUTC = "DELETED", msDate(time.Now())
		s.Counts.Add("delete invoice")
		writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": []*invoice{cur}})
		return "delete invoice"
	case "VOIDED":
		if cur.Status != "AUTHORISED" {
			validation(w, "Invoice not of valid status for modification. Only AUTHORISED invoices without payments can be voided.")
			return "void invoice"
		}
		cur.Status, cur.UpdatedDateUTC = "VOIDED", msDate(time.Now())
		s.Counts.Add("void invoice")
		writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": []*invoice{cur}})
		return "void invoice"
	}
	if cur.Status != "DRAFT" && cur.Status != "SUBMITTED" && cur.Status != "AUTHORISED" {
		validation(w, "This document cannot be edited as it has a status of "+cur.Status+".")
		return "update invoice"
	}
	next := *cur
	if u.Type != "" {
		next.Type = u.Type
	}
	if u.Contact != nil {
		next.Contact = u.Contact
	}
	if u.LineItems != nil {
		next.LineItems = u.LineItems
	}
	if u.Date != "" {
		next.Date = u.Date
	}
	if u.DueDate != "" {
		next.DueDate = u.DueDate
	}
	if u.Reference != "" {
		next.Reference = u.Reference
	}
	if u.Status != "" {
		if cur.Status == "AUTHORISED" && u.Status != "AUTHORISED" {
			validation(w, "An authorised invoice cannot go back to "+u.Status+".")
			return "update invoice"
		}
		next.Status = u.Status
	}
	if errs := s.checkInvoice(&next); len(errs) > 0 {
		validation(w, errs...)
		return "update invoice"
	}
	next.Total, next.UpdatedDateUTC = total(next.LineItems), msDate(time.Now())
	*cur = next
	s.Counts.Add("update invoice")
	writeJSON(w, http.StatusOK, map[string]any{"Id": guid(), "Status": "OK", "Invoices": []*invoice{cur}})
	return "update invoice"
}
