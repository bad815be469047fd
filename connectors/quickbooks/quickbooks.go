// Package quickbooks connects calgate to QuickBooks Online through the
// QuickBooks Online Accounting API (v3): a confirmed entry becomes an
// Invoice (or a SalesReceipt) for the entry's customer, a change updates it
// with a sparse update carrying the current SyncToken, and a cancellation
// voids it. Every write carries a requestid, so a retried call is answered
// with the first call's result instead of being done twice; every call
// carries the minorversion.
package quickbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Type is the connector type.
const Type = "quickbooks"

// MinorVersion is the API minor version calgate speaks.
const MinorVersion = "75"

// Scope is the OAuth scope of the Accounting API.
const Scope = "com.intuit.quickbooks.accounting"

// Default endpoints (production). The sandbox API is
// https://sandbox-quickbooks.api.intuit.com.
const (
	DefaultAuthURL  = "https://appcenter.intuit.com/connect/oauth2"
	DefaultTokenURL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
	DefaultAPIURL   = "https://quickbooks.api.intuit.com"
)

// DefaultLimits are QuickBooks Online's limits per company (realm): 500
// requests a minute and 10 at once.
var DefaultLimits = connectors.Limits{Windows: []connectors.Window{{Calls: 500, Per: time.Minute}}, Concurrent: 10}

// Config is the deployment's app at Intuit; its endpoints default to
// Intuit's production ones.
type Config = connectors.AppConfig

// Vendor is the QuickBooks Online application.
type Vendor struct{ *connectors.App }

var _ connectors.Vendor = (*Vendor)(nil)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	// OAuth 2.0 at Intuit, client credentials in the Authorization header
	// of token requests.
	return &Vendor{connectors.NewApp(cfg, connectors.AppSpec{Type: Type, Scopes: Scope, AuthStyle: oauth2.AuthStyleInHeader,
		Defaults: connectors.AppConfig{AuthURL: DefaultAuthURL, TokenURL: DefaultTokenURL, APIURL: DefaultAPIURL, Limits: &DefaultLimits}})}
}

// Documents an entry can become.
const (
	DocumentInvoice      = "invoice"
	DocumentSalesReceipt = "sales_receipt"
)

// Mapping is a QuickBooks connector's settings.
type Mapping struct {
	// Document is "invoice" (default) or "sales_receipt".
	Document string `json:"document"`
	// ItemID is the Id of the product or service the line sells.
	ItemID string `json:"item_id"`
	// Pricing prices each line (unit_price, price_attribute).
	connectors.Pricing
	// DefaultCustomer is the customer (DisplayName) of entries without a
	// customer name (default "calgate").
	DefaultCustomer string `json:"default_customer"`
}

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := decodeMapping(raw)
	if err != nil {
		return nil, err
	}
	ve := &calgate.ValidationError{}
	switch m.Document {
	case "":
		m.Document = DocumentInvoice
	case DocumentInvoice, DocumentSalesReceipt:
	default:
		ve.Add("mapping.document", "must be invoice or sales_receipt")
	}
	if strings.TrimSpace(m.ItemID) == "" {
		ve.Add("mapping.item_id", "is required: the Id of the QuickBooks product or service each line sells")
	}
	m.Pricing.Check(ve)
	if m.DefaultCustomer == "" {
		m.DefaultCustomer = "calgate"
	}
	if len(m.DefaultCustomer) > 500 {
		ve.Add("mapping.default_customer", "must be at most 500 bytes")
	}
	return connectors.Checked(m, ve)
}

func decodeMapping(raw json.RawMessage) (Mapping, error) {
	return connectors.DecodeMapping[Mapping](raw, "QuickBooks")
}

// Account implements connectors.Vendor: the company is the realmId Intuit
// adds to the redirect; its name comes from CompanyInfo.
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, callback url.Values) (connectors.Account, error) {
	realm := callback.Get("realmId")
	if realm == "" {
		return connectors.Account{}, calgate.Invalid("realmId", "is missing from the redirect")
	}
	a := connectors.Account{ID: realm}
	c.Connector().Account = realm
	resp, err := c.Do(ctx, connectors.Request{Operation: "read company info", Method: "GET", URL: v.url(realm, "companyinfo/"+url.PathEscape(realm), nil)})
	if err != nil {
		if errors.Is(err, connectors.ErrReauth) {
			return a, err
		}
		return a, nil // the name is a nicety
	}
	var info struct {
		CompanyInfo struct {
			CompanyName string `json:"CompanyName"`
		} `json:"CompanyInfo"`
	}
	if json.Unmarshal(resp.Body, &info) == nil {
		a.Name = info.CompanyInfo.CompanyName
	}
	return a, nil
}

// url is an API URL of the realm with the minor version and more query.
func (v *Vendor) url(realm, path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	q.Set("minorversion", MinorVersion)
	return fmt.Sprintf("%s/v3/company/%s/%s?%s", v.Config.APIURL, url.PathEscape(realm), path, q.Encode())
}

// ErrorText implements connectors.Vendor: the Fault's messages.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var f faultResponse
	if json.Unmarshal(body, &f) == nil && len(f.Fault.Error) > 0 {
		parts := make([]string, 0, len(f.Fault.Error))
		for _, e := range f.Fault.Error {
			s := e.Message
			if e.Detail != "" {
				s += ": " + e.Detail
			}
			if e.Code != "" {
				s += " (code " + e.Code + ")"
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "; ")
	}
	return connectors.BodyText(status, body)
}
