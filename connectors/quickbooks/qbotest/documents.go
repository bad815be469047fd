package qbotest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// writeDocument creates, updates (full or sparse) or voids an invoice or a
// sales receipt.
func (s *Server) writeDocument(w http.ResponseWriter, r *http.Request, kind string) string {
	q := r.URL.Query()
	var in document
	if !decode(w, r, &in) {
		return "write " + kind
	}
	op := q.Get("operation")
	void := (kind == "invoice" && op == "void") || (kind == "salesreceipt" && op == "update" && q.Get("include") == "void")
	switch {
	case void:
		return s.voidDocument(w, kind, &in)
	case op != "" && op != "update":
		fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "operation="+op)
		return "write " + kind
	case in.ID == "":
		return s.createDocument(w, kind, &in)
	}
	return s.updateDocument(w, kind, &in)
}

// checkLines refuses lines QuickBooks refuses: no lines, an unknown item,
// an amount that is not quantity times unit price.
func (s *Server) checkLines(w http.ResponseWriter, lines []line) bool {
	if len(lines) == 0 {
		fault(w, http.StatusBadRequest, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter Line is missing in the request")
		return false
	}
	for _, l := range lines {
		if l.DetailType != "SalesItemLineDetail" || l.SalesItemLineDetail == nil {
			fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "DetailType must be SalesItemLineDetail with its SalesItemLineDetail")
			return false
		}
		d := l.SalesItemLineDetail
		if d.ItemRef == nil || d.ItemRef.Value != "1" {
			fault(w, http.StatusBadRequest, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Item assigned to this transaction has been deleted or does not exist")
			return false
		}
		if d.Qty != nil && d.UnitPrice != nil && math.Abs(*d.Qty**d.UnitPrice-l.Amount) > 0.005 {
			fault(w, http.StatusBadRequest, "ValidationFault", "6070", "Business Validation Error", "Amount is not equal to UnitPrice * Qty")
			return false
		}
		if d.ServiceDate != "" {
			if _, err := time.Parse("2006-01-02", d.ServiceDate); err != nil {
				fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "ServiceDate")
				return false
			}
		}
	}
	return true
}

func (s *Server) hasCustomer(id string) bool {
	for _, c := range s.customers {
		if c.ID == id {
			return true
		}
	}
	return false
}

func total(lines []line) float64 {
	t := 0.0
	for _, l := range lines {
		t += l.Amount
	}
	return math.Round(t*100) / 100
}

func (s *Server) createDocument(w http.ResponseWriter, kind string, in *document) string {
	op := "create " + kind
	if !s.checkLines(w, in.Line) {
		return op
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.CustomerRef == nil || !s.hasCustomer(in.CustomerRef.Value) {
		fault(w, http.StatusBadRequest, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Customer does not exist")
		return op
	}
	s.nextID++
	d := *in
	d.ID, d.SyncToken, d.Kind, d.Sparse = strconv.Itoa(s.nextID), "0", kind, nil
	d.DocNumber = strconv.Itoa(1000 + len(s.docs) + 1)
	if d.TxnDate == "" {
		d.TxnDate = time.Now().Format("2006-01-02")
	}
	for i := range d.Line {
		d.Line[i].ID, d.Line[i].LineNum = strconv.Itoa(i+1), i+1
	}
	d.TotalAmt = total(d.Line)
	s.docs[d.ID] = &d
	s.Counts.Add(op)
	writeJSON(w, map[string]any{entityKey(kind): d, "time": time.Now().Format(time.RFC3339)})
	return op
}

// current finds the document to change and checks its SyncToken.
func (s *Server) current(w http.ResponseWriter, kind string, in *document) *document {
	d := s.docs[in.ID]
	if d == nil || d.Kind != kind {
		fault(w, http.StatusBadRequest, "ValidationFault", "610", "Object Not Found", "Object Not Found : Something you're trying to use has been made inactive.")
		return nil
	}
	if in.SyncToken == "" {
		fault(w, http.StatusBadRequest, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter SyncToken is missing in the request")
		return nil
	}
	if in.SyncToken != d.SyncToken {
		fault(w, http.StatusBadRequest, "ValidationFault", "5010", "Stale Object Error",
			"Stale Object Error : You and another user were working on this at the same time. The other user finished before you did, so your work was not saved.")
		return nil
	}
	if d.Voided {
		fault(w, http.StatusBadRequest, "ValidationFault", "6000", "A business validation error has occurred while processing your request", "Business Validation Error: This transaction is voided.")
		return nil
	}
	return d
}

func (s *Server) updateDocument(w http.ResponseWriter, kind string, in *document) string {
	op := "update " + kind
	sparse := in.Sparse != nil && *in.Sparse
	if in.Line != nil || !sparse {
		if !s.checkLines(w, in.Line) {
			return op
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.current(w, kind, in)
	if d == nil {
		return op
	}
	if in.CustomerRef != nil && !s.hasCustomer(in.CustomerRef.Value) {
		fault(w, http.StatusBadRequest, "ValidationFault", "2500", "Invalid Reference Id", "Invalid Reference Id : Customer does not exist")
		return op
	}
	next := *d
	if !sparse {
		next = document{ID: d.ID, Kind: d.Kind, DocNumber: d.DocNumber, TxnDate: d.TxnDate}
	}
	if in.CustomerRef != nil || !sparse {
		next.CustomerRef = in.CustomerRef
	}
	if in.Line != nil || !sparse {
		next.Line = in.Line
		for i := range next.Line {
			next.Line[i].ID, next.Line[i].LineNum = strconv.Itoa(i+1), i+1
		}
	}
	if in.PrivateNote != "" || !sparse {
		next.PrivateNote = in.PrivateNote
	}
	if in.TxnDate != "" {
		next.TxnDate = in.TxnDate
	}
	if next.CustomerRef == nil {
		fault(w, http.StatusBadRequest, "ValidationFault", "2020", "Required param missing, need to supply the required value for the API", "Required parameter CustomerRef is missing in the request")
		return op
	}
	next.TotalAmt = total(next.Line)
	next.SyncToken = bump(d.SyncToken)
	*d = next
	s.Counts.Add(op)
	writeJSON(w, map[string]any{entityKey(kind): d, "time": time.Now().Format(time.RFC3339)})
	return op
}

func (s *Server) voidDocument(w http.ResponseWriter, kind string, in *document) string {
	op := "void " + kind
	if kind == "salesreceipt" && (in.Sparse == nil || !*in.Sparse) {
		fault(w, http.StatusBadRequest, "ValidationFault", "2010", "Request has invalid or unsupported property", "a void of a SalesReceipt is a sparse update")
		return op
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.current(w, kind, in)
	if d == nil {
		return op
	}
	d.Voided = true
	for i := range d.Line {
		d.Line[i].Amount = 0
		if dt := d.Line[i].SalesItemLineDetail; dt != nil {
			zero := 0.0
			dt.Qty, dt.UnitPrice = &zero, &zero
		}
	}
	d.TotalAmt = 0
	d.PrivateNote = "Voided " + d.PrivateNote
	d.SyncToken = bump(d.SyncToken)
	s.Counts.Add(op)
	writeJSON(w, map[string]any{entityKey(kind): d, "time": time.Now().Format(time.RFC3339)})
	return op
}
