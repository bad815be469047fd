// Package mailchimp connects calgate to Mailchimp through the Marketing API
// 3.0: each customer with an e-mail is put on the connector's audience with
// PUT /lists/{list_id}/members/{subscriber_hash} (the MD5 of the lowercased
// address), status_if_new from the mapping and never status, so a member
// who unsubscribed stays unsubscribed; first and last name and phone go to
// the FNAME, LNAME and PHONE merge fields, and tags from the entry
// (resource, kind, templates of the mapping) through the member's tags
// endpoint. It takes an API key (whose suffix names the data centre, sent
// with HTTP Basic authentication) or OAuth 2.0 (the metadata endpoint names
// the data centre).
package mailchimp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Type is the connector type.
const Type = "mailchimp"

// Default endpoints.
const (
	DefaultAuthURL     = "https://login.mailchimp.com/oauth2/authorize"
	DefaultTokenURL    = "https://login.mailchimp.com/oauth2/token"
	DefaultMetadataURL = "https://login.mailchimp.com/oauth2/metadata"
	// DefaultAPIURL is the Marketing API's base URL; {dc} is the data
	// centre (us21).
	DefaultAPIURL = "https://{dc}.api.mailchimp.com"
	// BatchSize is how many pushes share one round of member writes (a
	// customer with several entries in it is written once).
	BatchSize = 100
)

// DefaultLimits are Mailchimp's: 10 simultaneous connections per account.
var DefaultLimits = connectors.Limits{Concurrent: 10}

// Config is the deployment's app at Mailchimp. Its APIURL is the API's
// base URL with {dc} for the data centre (default DefaultAPIURL).
type Config struct {
	connectors.AppConfig
	MetadataURL string
}

// Vendor is the Mailchimp application.
type Vendor struct {
	*connectors.App
	metadataURL string
}

var _ connectors.BatchVendor = (*Vendor)(nil)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultMetadataURL
	}
	// An API key (HTTP Basic) or OAuth 2.0, whose tokens do not expire.
	return &Vendor{metadataURL: cfg.MetadataURL, App: connectors.NewApp(cfg.AppConfig, connectors.AppSpec{Type: Type, AuthStyle: oauth2.AuthStyleInParams,
		Auth:     connectors.Auth{APIKeyBasic: true, TokenScheme: "OAuth"},
		Defaults: connectors.AppConfig{AuthURL: DefaultAuthURL, TokenURL: DefaultTokenURL, APIURL: DefaultAPIURL, Limits: &DefaultLimits}})}
}

// BatchSize implements connectors.BatchVendor.
func (v *Vendor) BatchSize() int { return BatchSize }

// Statuses a new member may get.
const (
	StatusTransactional = "transactional"
	StatusPending       = "pending"
	StatusSubscribed    = "subscribed"
)

// Mapping is a Mailchimp connector's settings.
type Mapping struct {
	// ListID is the audience.
	ListID string `json:"list_id"`
	// StatusIfNew is the status of a new member: transactional (default),
	// pending (Mailchimp asks the customer to confirm) or subscribed (only
	// for customers whose entry has ConsentAttribute true; the others get
	// StatusWithoutConsent).
	StatusIfNew          string `json:"status_if_new"`
	ConsentAttribute     string `json:"consent_attribute,omitempty"`
	StatusWithoutConsent string `json:"status_without_consent,omitempty"`
	// Tags are templates of the member's tags: {resource}, {kind},
	// {source}, {status} and {attributes.NAME} are replaced (default
	// ["{resource}", "{kind}"]); empty results are left out.
	Tags []string `json:"tags"`
}

var listPattern = regexp.MustCompile(`^[0-9a-zA-Z]{1,50}$`)

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := decodeMapping(raw)
	if err != nil {
		return nil, err
	}
	ve := &calgate.ValidationError{}
	if !listPattern.MatchString(m.ListID) {
		ve.Add("mapping.list_id", "is required: the id of the Mailchimp audience (Audience > Settings > Audience name and defaults)")
	}
	switch m.StatusIfNew {
	case "":
		m.StatusIfNew = StatusTransactional
	case StatusTransactional, StatusPending:
	case StatusSubscribed:
		if strings.TrimSpace(m.ConsentAttribute) == "" {
			ve.Add("mapping.consent_attribute", "is required with status_if_new subscribed: the entry attribute that is true when the customer agreed to the newsletter")
		}
		switch m.StatusWithoutConsent {
		case "":
			m.StatusWithoutConsent = StatusTransactional
		case StatusTransactional, StatusPending:
		default:
			ve.Add("mapping.status_without_consent", "must be transactional or pending")
		}
	default:
		ve.Add("mapping.status_if_new", "must be transactional, pending or subscribed")
	}
	if m.StatusIfNew != StatusSubscribed && (m.ConsentAttribute != "" || m.StatusWithoutConsent != "") {
		ve.Add("mapping.consent_attribute", "is only for status_if_new subscribed")
	}
	if m.Tags == nil {
		m.Tags = []string{"{resource}", "{kind}"}
	}
	if len(m.Tags) > 20 {
		ve.Add("mapping.tags", "must be at most 20 templates")
	}
	for i, tag := range m.Tags {
		if strings.TrimSpace(tag) == "" || len(tag) > 200 {
			ve.Add(fmt.Sprintf("mapping.tags[%d]", i), "must be 1 to 200 bytes")
		}
	}
	return connectors.Checked(m, ve)
}

func decodeMapping(raw json.RawMessage) (Mapping, error) {
	return connectors.DecodeMapping[Mapping](raw, "Mailchimp")
}

// dcPattern is the form of a data centre (us21): it becomes part of a host
// name, so nothing else passes.
var dcPattern = regexp.MustCompile(`^[a-z]{2,4}[0-9]{1,3}$`)

// Account implements connectors.Vendor: the data centre comes from the API
// key's suffix or, with OAuth, from the metadata endpoint; the account from
// the API root. The audience of the mapping must exist.
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, callback url.Values) (connectors.Account, error) {
	dc := ""
	if key := c.APIKey(); key != "" {
		i := strings.LastIndexByte(key, '-')
		if i < 0 || !dcPattern.MatchString(key[i+1:]) {
			return connectors.Account{}, calgate.Invalid("api_key", "must end in its data centre, such as -us21")
		}
		dc = key[i+1:]
	} else {
		resp, err := c.Do(ctx, connectors.Request{Operation: "read metadata", Method: http.MethodGet, URL: v.metadataURL})
		if err != nil {
			return connectors.Account{}, err
		}
		var md Metadata
		if err := json.Unmarshal(resp.Body, &md); err != nil || !dcPattern.MatchString(md.DC) {
			return connectors.Account{}, calgate.Invalid("code", "Mailchimp's metadata names no data centre")
		}
		dc = md.DC
	}
	base := strings.ReplaceAll(v.Config.APIURL, "{dc}", dc)
	resp, err := c.Do(ctx, connectors.Request{Operation: "read account", Method: http.MethodGet, URL: base + "/3.0/"})
	if err != nil {
		return connectors.Account{}, err
	}
	var root Root
	if err := json.Unmarshal(resp.Body, &root); err != nil || root.AccountID == "" {
		return connectors.Account{}, fmt.Errorf("mailchimp: read account: no account id in the answer")
	}
	m, _ := decodeMapping(c.Connector().Mapping)
	_, err = c.Do(ctx, connectors.Request{Operation: "read audience", Method: http.MethodGet, URL: base + "/3.0/lists/" + url.PathEscape(m.ListID) + "?fields=id,name"})
	if connectors.StatusOf(err) == http.StatusNotFound {
		return connectors.Account{}, calgate.Invalid("mapping.list_id", "names no audience of the Mailchimp account %s", root.AccountName)
	}
	if err != nil {
		return connectors.Account{}, err
	}
	return connectors.Account{ID: root.AccountID, Name: root.AccountName, URL: base}, nil
}

// ErrorText implements connectors.Vendor: the problem's title, detail and
// field errors.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var p Problem
	if json.Unmarshal(body, &p) == nil && p.Title != "" {
		s := p.Title + ": " + p.Detail
		for _, e := range p.Errors {
			s += "; " + e.Field + ": " + e.Message
		}
		return s
	}
	return connectors.BodyText(status, body)
}
