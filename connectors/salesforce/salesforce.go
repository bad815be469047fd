// Package salesforce connects calgate to Salesforce through its REST API:
// the customer of an entry becomes a Contact upserted by an external id
// field (the customer's e-mail), the entry an Event on that Contact
// upserted by another external id field (the entry's id), so a re-delivered
// change updates instead of duplicating; a cancellation deletes the Event or
// marks it cancelled. Changes travel in batches of up to 200 records
// through sObject Collections, as an org's daily API request limit
// demands. Consent is the OAuth 2.0 web server flow with PKCE; calls go to
// the instance URL of the token answer.
package salesforce

import (
	"cmp"
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/calgate/calgate"
	"github.com/calgate/calgate/connectors"
)

// Type is the connector type.
const Type = "salesforce"

// Defaults of the deployment and of a connector's mapping.
const (
	// DefaultLoginURL is Salesforce's login server for production orgs
	// (sandboxes use https://test.salesforce.com).
	DefaultLoginURL = "https://login.salesforce.com"
	// DefaultScopes are the scopes asked at consent.
	DefaultScopes = "api refresh_token"
	// DefaultAPIVersion is the REST API version calgate speaks.
	DefaultAPIVersion = "62.0"
	// MinAPIVersion is the first version with sObject Collections upsert.
	MinAPIVersion = 46
	// DefaultContactExternalIDField is the Contact's external id field
	// (text, unique, External ID) that holds the customer's e-mail.
	DefaultContactExternalIDField = "calgate_Customer_Key__c"
	// DefaultEventExternalIDField is the Event's (activity) external id
	// field that holds the entry's id.
	DefaultEventExternalIDField = "calgate_Entry_Id__c"
	// DefaultDailyCalls is calgate's own budget per org and day: the API
	// request limit of the smallest editions. Orgs share it with every
	// other integration.
	DefaultDailyCalls = 15000
	// BatchSize is the most records of one sObject Collections request.
	BatchSize = 200
	// limitWait is how long a push waits after REQUEST_LIMIT_EXCEEDED.
	limitWait = time.Hour
)

// Config is the deployment's connected app at Salesforce: the OAuth
// endpoints are under its login server's /services/oauth2, and each org's
// API is at its instance URL.
type Config struct {
	ClientID     string
	ClientSecret string
	// LoginURL is the login server (default DefaultLoginURL).
	LoginURL string
	// Scopes are space-separated (default DefaultScopes).
	Scopes string
	// DailyCalls is calgate's budget of API calls per org and day (default
	// DefaultDailyCalls).
	DailyCalls int
	Limits     *connectors.Limits
	NoLimits   bool
}

// Vendor is the Salesforce application.
type Vendor struct{ *connectors.App }

var _ connectors.BatchVendor = (*Vendor)(nil)

// New returns the application for a deployment's configuration.
func New(cfg Config) *Vendor {
	if cfg.LoginURL == "" {
		cfg.LoginURL = DefaultLoginURL
	}
	login := strings.TrimRight(cfg.LoginURL, "/")
	if cfg.DailyCalls <= 0 {
		cfg.DailyCalls = DefaultDailyCalls
	}
	limits := connectors.Limits{Windows: []connectors.Window{{Calls: cfg.DailyCalls, Per: 24 * time.Hour}}, Concurrent: 25}
	app := connectors.AppConfig{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Limits: cfg.Limits, NoLimits: cfg.NoLimits,
		AuthURL: login + "/services/oauth2/authorize", TokenURL: login + "/services/oauth2/token"}
	// The web server flow with PKCE.
	return &Vendor{connectors.NewApp(app, connectors.AppSpec{Type: Type, Scopes: cmp.Or(cfg.Scopes, DefaultScopes), AuthStyle: oauth2.AuthStyleInParams,
		Auth: connectors.Auth{PKCE: true}, Defaults: connectors.AppConfig{Limits: &limits}})}
}

// BatchSize implements connectors.BatchVendor.
func (v *Vendor) BatchSize() int { return BatchSize }

// What a cancellation does to the Event.
const (
	OnCancelDelete = "delete"
	OnCancelMark   = "mark"
)

// Mapping is a Salesforce connector's settings.
type Mapping struct {
	// APIVersion is the REST API version ("62.0").
	APIVersion string `json:"api_version"`
	// ContactExternalIDField and EventExternalIDField name the external
	// id fields the upserts go by.
	ContactExternalIDField string `json:"contact_external_id_field"`
	EventExternalIDField   string `json:"event_external_id_field"`
	// OnCancel is "delete" (default) or "mark": keep the Event, with
	// CancelledPrefix before its Subject and ShowAs Free.
	OnCancel        string `json:"on_cancel"`
	CancelledPrefix string `json:"cancelled_prefix"`
	// MaxEventDays caps an Event's length (default 14, Salesforce's limit
	// for multiday events; 1 for orgs without multiday events). A longer
	// entry's Event ends there and its Description gives the real end.
	MaxEventDays int `json:"max_event_days"`
}

var (
	versionPattern = regexp.MustCompile(`^([0-9]{2,3})\.0$`)
	fieldPattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,79}$`)
)

// Mapping implements connectors.Vendor.
func (v *Vendor) Mapping(raw json.RawMessage) (json.RawMessage, error) {
	m, err := decodeMapping(raw)
	if err != nil {
		return nil, err
	}
	ve := &calgate.ValidationError{}
	if m.APIVersion == "" {
		m.APIVersion = DefaultAPIVersion
	}
	m.APIVersion = strings.TrimPrefix(m.APIVersion, "v")
	if g := versionPattern.FindStringSubmatch(m.APIVersion); g == nil {
		ve.Add("mapping.api_version", "must be a REST API version such as %s", DefaultAPIVersion)
	} else if n, _ := strconv.Atoi(g[1]); n < MinAPIVersion {
		ve.Add("mapping.api_version", "must be %d.0 or later (sObject Collections upsert)", MinAPIVersion)
	}
	if m.ContactExternalIDField == "" {
		m.ContactExternalIDField = DefaultContactExternalIDField
	}
	if m.EventExternalIDField == "" {
		m.EventExternalIDField = DefaultEventExternalIDField
	}
	if !fieldPattern.MatchString(m.ContactExternalIDField) {
		ve.Add("mapping.contact_external_id_field", "must be a field's API name (letters, digits and _, such as %s)", DefaultContactExternalIDField)
	}
	if !fieldPattern.MatchString(m.EventExternalIDField) {
		ve.Add("mapping.event_external_id_field", "must be a field's API name (letters, digits and _, such as %s)", DefaultEventExternalIDField)
	}
	switch m.OnCancel {
	case "":
		m.OnCancel = OnCancelDelete
	case OnCancelDelete, OnCancelMark:
	default:
		ve.Add("mapping.on_cancel", "must be delete or mark")
	}
	if m.CancelledPrefix == "" {
		m.CancelledPrefix = "Cancelled: "
	}
	if len(m.CancelledPrefix) > 50 {
		ve.Add("mapping.cancelled_prefix", "must be at most 50 bytes")
	}
	if m.MaxEventDays == 0 {
		m.MaxEventDays = 14
	}
	if m.MaxEventDays < 1 || m.MaxEventDays > 14 {
		ve.Add("mapping.max_event_days", "must be 1 to 14")
	}
	return connectors.Checked(m, ve)
}

func decodeMapping(raw json.RawMessage) (Mapping, error) {
	return connectors.DecodeMapping[Mapping](raw, "Salesforce")
}

// Account implements connectors.Vendor: the org is the one of the token
// answer's identity URL (…/id/{org id}/{user id}), its API the answer's
// instance_url. It makes no call.
func (v *Vendor) Account(ctx context.Context, c *connectors.Client, callback url.Values) (connectors.Account, error) {
	instance, _ := c.TokenExtra("instance_url").(string)
	u, err := url.Parse(instance)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return connectors.Account{}, calgate.Invalid("code", "the token answer carries no usable instance_url (%q)", instance)
	}
	id, _ := c.TokenExtra("id").(string)
	parts := strings.Split(strings.TrimRight(id, "/"), "/")
	if len(parts) < 3 || parts[len(parts)-3] != "id" || parts[len(parts)-2] == "" {
		return connectors.Account{}, calgate.Invalid("code", "the token answer carries no identity URL with the org id (%q)", id)
	}
	return connectors.Account{ID: parts[len(parts)-2], Name: u.Host, URL: u.Scheme + "://" + u.Host}, nil
}

// ErrorText implements connectors.Vendor: the errorCode and message of
// each error of the answer.
func (v *Vendor) ErrorText(status int, body []byte) string {
	var errs []apiError
	if json.Unmarshal(body, &errs) == nil && len(errs) > 0 {
		parts := make([]string, 0, len(errs))
		for _, e := range errs {
			parts = append(parts, e.ErrorCode+": "+e.Message)
		}
		return strings.Join(parts, "; ")
	}
	var oe struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
		return oe.Error + ": " + oe.Description
	}
	return connectors.BodyText(status, body)
}
