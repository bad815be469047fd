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
	// Scopes are space-separated (default the application's).
	Scopes string
	// Limits default to the application's; NoLimits turns them off
	// (benchmarks against a local server).
	Limits   *Limits
	NoLimits bool
}

// App is an application's configuration in effect: the AppConfig with the
// application's defaults filled in, the OAuth 2.0 client built from it
// once, and the limits.
type App struct {
	Config AppConfig
	OAuth  *oauth2.Config
	Limits Limits
}

// NewApp fills cfg's empty fields from the application's defaults (an
// AppConfig with its production endpoints, scopes and limits), trims the
// API URL's trailing slash, and builds the OAuth client that sends the
// client credentials as style says.
func NewApp(cfg, defaults AppConfig, style oauth2.AuthStyle) App {
	fill := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	fill(&cfg.AuthURL, defaults.AuthURL)
	fill(&cfg.TokenURL, defaults.TokenURL)
	fill(&cfg.APIURL, defaults.APIURL)
	fill(&cfg.Scopes, defaults.Scopes)
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	a := App{Config: cfg}
	switch {
	case cfg.NoLimits:
	case cfg.Limits != nil:
		a.Limits = *cfg.Limits
	case defaults.Limits != nil:
		a.Limits = *defaults.Limits
	}
	a.OAuth = &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Scopes: strings.Fields(cfg.Scopes),
		Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL, AuthStyle: style}}
	return a
}
