package connectors

import (
	"strings"

	"golang.org/x/oauth2"
)

// AppConfig is a deployment's registration at one application: its OAuth
// 2.0 client, the endpoints (empty for the application's own) and the
// rate limits calgate keeps to. Every application's Config is or embeds
// one, and the command's settings fill it (CALGATE_<APP>_CLIENT_ID, …).
type AppConfig struct {
	ClientID     string
	ClientSecret string
	// AuthURL, TokenURL and APIURL default to the application's.
	AuthURL  string
	TokenURL string
	APIURL   string
	// Limits default to the application's; NoLimits turns them off
	// (benchmarks against a local server).
	Limits   *Limits
	NoLimits bool
}

// AppSpec is what an application is whatever a deployment sets: its
// type, its production endpoints and limits (an AppConfig of defaults),
// the scopes it asks for (space-separated: the deployment's setting where
// the application has one, else its own), where its token endpoint takes
// the client's credentials, and how it authenticates calgate (Auth without
// the OAuth client, which is built from the configuration).
type AppSpec struct {
	Type      string
	Defaults  AppConfig
	Scopes    string
	AuthStyle oauth2.AuthStyle
	Auth      Auth
}

// App is an application's configuration in effect: the AppConfig with
// the application's defaults filled in, the OAuth 2.0 client built from it
// once, and the limits. A Vendor embeds it for Type, Auth and Limits.
type App struct {
	Config AppConfig
	typ    string
	auth   Auth
	limits Limits
}

// NewApp fills cfg's empty fields from the spec's defaults, trims the API
// URL's trailing slash, and builds the OAuth client.
func NewApp(cfg AppConfig, spec AppSpec) *App {
	fill := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	d := spec.Defaults
	fill(&cfg.AuthURL, d.AuthURL)
	fill(&cfg.TokenURL, d.TokenURL)
	fill(&cfg.APIURL, d.APIURL)
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	a := &App{Config: cfg, typ: spec.Type, auth: spec.Auth}
	switch {
	case cfg.NoLimits:
	case cfg.Limits != nil:
		a.limits = *cfg.Limits
	case d.Limits != nil:
		a.limits = *d.Limits
	}
	a.auth.OAuth = &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: strings.Fields(spec.Scopes),
		Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL, AuthStyle: spec.AuthStyle}}
	return a
}

// Type implements Vendor.
func (a *App) Type() string { return a.typ }

// Auth implements Vendor.
func (a *App) Auth() Auth { return a.auth }

// Limits implements Vendor.
func (a *App) Limits() Limits { return a.limits }
