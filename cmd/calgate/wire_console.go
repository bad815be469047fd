package main

import (
	"context"
	"net/http"
	"time"

	"github.com/calgate/calgate/connectors"
	"github.com/calgate/calgate/console"
	"github.com/calgate/calgate/feeds"
	"github.com/calgate/calgate/imports/pull"
	"github.com/calgate/calgate/webhooks"
)

// consoleParts are the services the web console shows, kept as the
// capabilities wire themselves, and the console built from them.
type consoleParts struct {
	feeds      *feeds.Service
	webhooks   *webhooks.Service
	connectors *connectors.Service
	pulls      *pull.Service
	console    *console.Console
}

// wireConsole builds the web console (served at /console/ by the
// processes that serve the API) over the same store and services as the
// API, and purges expired console sessions hourly.
func (a *app) wireConsole(ctx context.Context) error {
	c, err := console.New(console.Deps{
		Store:      a.store,
		Feeds:      a.parts.feeds,
		Webhooks:   a.parts.webhooks,
		Imports:    a.imports,
		Pulls:      a.parts.pulls,
		Connectors: a.parts.connectors,
		QueueDepth: a.queue.Depth,
		Logger:     a.logger,
		PublicURL:  a.cfg.PublicURL,
	})
	if err != nil {
		return err
	}
	a.parts.console = c
	a.queue.Every("console-sessions-purge", time.Hour, func(ctx context.Context) error {
		_, err := a.store.PurgeSessions(ctx, time.Now())
		return err
	})
	return nil
}

// withConsole serves the console under /console/ and the API elsewhere.
func (a *app) withConsole(api http.Handler) http.Handler {
	if a.parts.console == nil {
		return api
	}
	return a.parts.console.Mount(api)
}
