package qbotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The company's objects, written from Intuit's reference.

type ref struct {
	Value string `json:"value"`
	Name  string `json:"name,omitempty"`
}

type customer struct {
	ID               string `json:"Id,omitempty"`
	SyncToken        string `json:"SyncToken,omitempty"`
	DisplayName      string `json:"DisplayName"`
	PrimaryEmailAddr *struct {
		Address string `json:"Address,omitempty"`
	} `json:"PrimaryEmailAddr,omitempty"`
	PrimaryPhone *struct {
		FreeFormNumber string `json:"FreeFormNumber,omitempty"`
	} `json:"PrimaryPhone,omitempty"`
}

type lineDetail struct {
	ItemRef     *ref     `json:"ItemRef,omitempty"`
	Qty         *float64 `json:"Qty,omitempty"`
	UnitPrice   *float64 `json:"UnitPrice,omitempty"`
	ServiceDate string   `json:"ServiceDate,omitempty"`
}

type line struct {
	ID                  string      `json:"Id,omitempty"`
	LineNum             int         `json:"LineNum,omitempty"`
	DetailType          string      `json:"DetailType"`
	Amount              float64     `json:"Amount"`
	Description         string      `json:"Description,omitempty"`
	SalesItemLineDetail *lineDetail `json:"SalesItemLineDetail,omitempty"`
}

// document is an Invoice or a SalesReceipt.
type document struct {
	ID          string  `json:"Id,omitempty"`
	SyncToken   string  `json:"SyncToken,omitempty"`
	Sparse      *bool   `json:"sparse,omitempty"`
	CustomerRef *ref    `json:"CustomerRef,omitempty"`
	Line        []line  `json:"Line,omitempty"`
	PrivateNote string  `json:"PrivateNote,omitempty"`
	TxnDate     string  `json:"TxnDate,omitempty"`
	DocNumber   string  `json:"DocNumber,omitempty"`
	TotalAmt    float64 `json:"TotalAmt"`
	// Kind is "invoice" or "salesreceipt" (not on the wire).
	Kind   string `json:"-"`
	Voided bool   `json:"-"`
}

// Invoice is a document as tests see it.
type Invoice struct {
	ID, SyncToken, CustomerID, Description, ServiceDate, PrivateNote string
	Kind                                                             string
	Qty, UnitPrice, Total                                            float64
	Voided                                                           bool
}

// Documents lists the company's invoices and sales receipts.
func (s *Server) Documents() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Invoice
	for _, d := range s.docs {
		inv := Invoice{ID: d.ID, SyncToken: d.SyncToken, Kind: d.Kind, PrivateNote: d.PrivateNote, Total: d.TotalAmt, Voided: d.Voided}
		if d.CustomerRef != nil {
			inv.CustomerID = d.CustomerRef.Value
		}
		if len(d.Line) > 0 {
			inv.Description = d.Line[0].Description
			if dt := d.Line[0].SalesItemLineDetail; dt != nil {
				inv.ServiceDate = dt.ServiceDate
				if dt.Qty != nil {
					inv.Qty = *dt.Qty
				}
				if dt.UnitPrice != nil {
					inv.UnitPrice = *dt.UnitPrice
				}
			}
		}
		out = append(out, inv)
	}
	return out
}

// Customers lists the customers' DisplayNames.
func (s *Server) Customers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.customers {
		out = append(out, c.DisplayName)
	}
	return out
}

// AddCustomer adds a customer as if someone had typed it in QuickBooks.
func (s *Server) AddCustomer(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	c := &customer{ID: strconv.Itoa(s.nextID), SyncToken: "0", DisplayName: name}
	s.customers = append(s.customers, c)
	return c.ID
}

// EditDocument changes a document's description as a person in
// QuickBooks would, which moves its SyncToken on.
func (s *Server) EditDocument(id, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.docs[id]; d != nil && len(d.Line) > 0 {
		d.Line[0].Description = description
		d.SyncToken = bump(d.SyncToken)
	}
}

func bump(tok string) string {
	n, _ := strconv.Atoi(tok)
	return strconv.Itoa(n + 1)
}

// fault writes an error answer in Intuit's Fault shape.
func fault(w http.ResponseWriter, status int, typ, code, message, detail string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"Fault": map[string]any{"Error": []map[string]string{{"Message": message, "Detail": detail, "code": code}}, "type": typ},
		"time": time.Now().Format(time.RFC3339)})
}

// admit applies the company's limits; it reports false after answering
// 429.
func (s *Server) admit(w http.ResponseWriter) (done func(), ok bool) {
	done, refused := s.limits.Admit()
	if refused != nil {
		w.Header().Set("Retry-After", strconv.Itoa(int(refused.Wait.Seconds())+1))
		fault(w, http.StatusTooManyRequests, "SERVICE", "003001", "message=ThrottleExceeded; errorCode=003001; statusCode=429", "The request limit was reached.")
		return nil, false
	}
	return done, true
}

// api serves /v3/company/{realm}/….
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if !s.Valid(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Intuit", error="invalid_token"`)
		fault(w, http.StatusUnauthorized, "AUTHENTICATION", "3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401", "Token expired or invalid")
		return
	}
	if r.PathValue("realm") != s.o.Realm {
		fault(w, http.StatusForbidden, "AUTHORIZATION", "3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", "The token is not for this company")
		return
	}
	done, ok := s.admit(w)
	if !ok {
		return
	}
	defer done()
	q := r.URL.Query()
	s.mu.Lock()
	if mv := q.Get("minorversion"); mv == "" {
		s.minor["missing"]++
	} else if n, err := strconv.Atoi(mv); err != nil || n < 1 {
		s.mu.Unlock()
		fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "minorversion="+mv)
		return
	}
	s.mu.Unlock()
	rid := q.Get("requestid")
	if len(rid) > 50 {
		fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "requestid is longer than 50 characters")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v3/company/"+s.o.Realm+"/")
	s.Replays.Serve(w, r, r.Method == http.MethodPost, rid, func(w http.ResponseWriter) string { return s.route(w, r, path) })
}

var queryCustomerByName = regexp.MustCompile(`(?i)^select \* from Customer where DisplayName = '((?:[^'\\]|\\.)*)'$`)

// route serves one call and returns the operation done.
func (s *Server) route(w http.ResponseWriter, r *http.Request, path string) string {
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodGet && path == "query":
		m := queryCustomerByName.FindStringSubmatch(strings.TrimSpace(q.Get("query")))
		if m == nil {
			fault(w, http.StatusBadRequest, "ValidationFault", "4000", "Error parsing query", "QueryParserError: this fake answers select * from Customer where DisplayName = '…'")
			return "query"
		}
		name := strings.NewReplacer(`\'`, "'", `\\`, `\`).Replace(m[1])
		s.mu.Lock()
		s.Counts.Add("query")
		var found []*customer
		for _, c := range s.customers {
			if c.DisplayName == name {
				found = append(found, c)
			}
		}
		s.mu.Unlock()
		resp := map[string]any{}
		if len(found) > 0 {
			resp["Customer"] = found
			resp["startPosition"] = 1
			resp["maxResults"] = len(found)
		}
		writeJSON(w, map[string]any{"QueryResponse": resp, "time": time.Now().Format(time.RFC3339)})
		return "query"
	case r.Method == http.MethodGet && strings.HasPrefix(path, "companyinfo/"):
		writeJSON(w, map[string]any{"CompanyInfo": map[string]any{"Id": s.o.Realm, "CompanyName": s.o.CompanyName}})
		return "read companyinfo"
	case r.Method == http.MethodPost && path == "customer":
		return s.createCustomer(w, r)
	case r.Method == http.MethodGet && (strings.HasPrefix(path, "invoice/") || strings.HasPrefix(path, "salesreceipt/")):
		kind, id, _ := strings.Cut(path, "/")
		s.mu.Lock()
		d := s.docs[id]
		s.mu.Unlock()
		if d == nil || d.Kind != kind {
			fault(w, http.StatusBadRequest, "ValidationFault", "610", "Object Not Found", "Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.")
			return "read " + kind
		}
		writeJSON(w, map[string]any{entityKey(kind): d, "time": time.Now().Format(time.RFC3339)})
		return "read " + kind
	case r.Method == http.MethodPost && (path == "invoice" || path == "salesreceipt"):
		return s.writeDocument(w, r, path)
	}
	fault(w, http.StatusBadRequest, "ValidationFault", "4000", "Unsupported Operation", r.Method+" "+path+" is not served by this fake")
	return "unsupported"
}

func entityKey(kind string) string {
	if kind == "salesreceipt" {
		return "SalesReceipt"
	}
	return "Invoice"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a body strictly: an unknown property is refused as Intuit
// refuses it.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", err.Error())
		return false
	}
	return true
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) string {
	var c customer
	if !decode(w, r, &c) {
		return "create customer"
	}
	name := strings.TrimSpace(c.DisplayName)
	if name == "" || c.ID != "" {
		fault(w, http.StatusBadRequest, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter DisplayName is missing in the request")
		return "create customer"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, other := range s.customers {
		if strings.EqualFold(other.DisplayName, name) {
			fault(w, http.StatusBadRequest, "ValidationFault", "6240", "Duplicate Name Exists Error",
				fmt.Sprintf("The name supplied already exists. : Another customer, vendor or employee is already using this name (Id=%s). Please use a different name.", other.ID))
			return "create customer"
		}
	}
	s.nextID++
	c.ID, c.SyncToken, c.DisplayName = strconv.Itoa(s.nextID), "0", name
	s.customers = append(s.customers, &c)
	s.Counts.Add("create customer")
	writeJSON(w, map[string]any{"Customer": c, "time": time.Now().Format(time.RFC3339)})
	return "create customer"
}
