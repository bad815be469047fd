package connectors

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/calgate/calgate"
)

// DecodeMapping reads a connector's mapping settings (nil or empty raw:
// the zero M), refusing fields M does not have: a
// *calgate.ValidationError on "mapping" that names the application.
func DecodeMapping[M any](raw json.RawMessage, application string) (M, error) {
	var m M
	if len(raw) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, calgate.Invalid("mapping", "is not a%s %s mapping: %v", article(application), application, err)
	}
	return m, nil
}

func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "n"
	}
	return ""
}

// Checked returns the mapping m with its defaults filled in as JSON, or
// ve's errors when there are any.
func Checked(m any, ve *calgate.ValidationError) (json.RawMessage, error) {
	if err := ve.Err(); err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// BodyText is an error answer's body as the error text when the
// application's own error shape is not in it: at most 300 bytes, or
// "HTTP <status>" for an empty body.
func BodyText(status int, body []byte) string {
	s := strings.TrimSpace(string(body))
	if len(s) > 300 {
		s = s[:300]
	}
	if s == "" {
		s = fmt.Sprintf("HTTP %d", status)
	}
	return s
}

// Sale is an entry as one line of an accounting document (an invoice, a
// sales receipt): who buys, how many at what price, and what the line
// says.
type Sale struct {
	// Customer is the entry's customer name, or the mapping's default;
	// Email and Phone are the customer's.
	Customer, Email, Phone string
	// Quantity is the entry's quantity (default 1); UnitPrice the
	// mapping's fixed price, else the number in the entry's price
	// attribute, else 0; Amount their product rounded to cents.
	Quantity, UnitPrice, Amount float64
	// Description says what, when and in which zone: "Room 1, 2026-05-04
	// 09:00–10:30 (Europe/Berlin)".
	Description string
	// Start is the entry's start in its own zone (the document's date).
	Start time.Time
}

// Pricing is the price settings of an accounting application's mapping:
// UnitPrice, when set, is the price of every entry; otherwise the number
// (or numeric string) in the entry's attribute PriceAttribute (default
// "price"), else 0. Mappings embed it.
type Pricing struct {
	UnitPrice      *float64 `json:"unit_price,omitempty"`
	PriceAttribute string   `json:"price_attribute"`
}

// Check fills in the default price attribute and refuses a negative
// price.
func (p *Pricing) Check(ve *calgate.ValidationError) {
	if p.UnitPrice != nil && *p.UnitPrice < 0 {
		ve.Add("mapping.unit_price", "must not be negative")
	}
	if p.PriceAttribute == "" {
		p.PriceAttribute = "price"
	}
}

// SaleOf renders the entry as a sale: defaultCustomer names customers of
// entries without one; p prices it.
func SaleOf(e *calgate.Entry, defaultCustomer string, p Pricing) Sale {
	s := Sale{Customer: defaultCustomer, Quantity: 1}
	if e.Customer != nil {
		if n := strings.TrimSpace(e.Customer.Name); n != "" {
			s.Customer = n
		}
		s.Email, s.Phone = e.Customer.Email, e.Customer.Phone
	}
	if e.Quantity != nil {
		s.Quantity = float64(*e.Quantity)
	}
	if p.UnitPrice != nil {
		s.UnitPrice = *p.UnitPrice
	} else {
		s.UnitPrice = attributeNumber(e.Attributes, p.PriceAttribute)
	}
	s.Amount = math.Round(s.Quantity*s.UnitPrice*100) / 100
	loc := e.Loc()
	start, end := e.Start.In(loc), e.End.In(loc)
	when := start.Format("2006-01-02 15:04") + "–" + end.Format("15:04")
	if e.AllDay {
		when = start.Format("2006-01-02") + "–" + end.AddDate(0, 0, -1).Format("2006-01-02")
	} else if end.YearDay() != start.YearDay() || end.Year() != start.Year() {
		when = start.Format("2006-01-02 15:04") + "–" + end.Format("2006-01-02 15:04")
	}
	title := e.Title
	if title == "" {
		title = e.Resource
	}
	s.Description, s.Start = fmt.Sprintf("%s, %s (%s)", title, when, loc.String()), start
	return s
}

// attributeNumber reads a number (or a numeric string) from the entry's
// attributes; 0 when there is none.
func attributeNumber(attrs json.RawMessage, name string) float64 {
	var m map[string]any
	if len(attrs) == 0 || json.Unmarshal(attrs, &m) != nil {
		return 0
	}
	switch x := m[name].(type) {
	case float64:
		return x
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f
		}
	}
	return 0
}
