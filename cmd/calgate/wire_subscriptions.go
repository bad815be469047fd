package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/sync/subscriptions"
)

// wireSubscriptions registers iCal subscriptions (external calendars pulled
// in): the API routes, the poll job and the sweep that finds due polls.
//
// cfg.Subscriptions.Horizon (CALGATE_ICAL_HORIZON, default one year) is
// how far ahead recurring events of subscribed feeds are expanded.
func (a *app) wireSubscriptions(ctx context.Context) error {
	polls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "calgate_ical_subscription_polls_total",
		Help: "Polls of iCal subscriptions by outcome: updated, not_modified or error.",
	}, []string{"outcome"})
	if err := a.metrics.Registry.Register(polls); err != nil {
		return fmt.Errorf("subscriptions: register metrics: %w", err)
	}
	svc := subscriptions.New(subscriptions.Deps{
		Store:  a.store,
		Client: a.httpClient(subscriptions.MaxFeedBytes, subscriptions.FetchTimeout),
		Jobs:   a.queue,
		Notify: a.dispatcher.Notify,
		OnPoll: func(outcome string) { polls.WithLabelValues(outcome).Inc() },
		Logger: a.logger,
	}, subscriptions.Options{
		AllowPrivate: a.cfg.AllowPrivateTargets,
		Horizon:      a.cfg.Subscriptions.Horizon,
	})
	svc.Register(a.queue)
	a.server.Add(a.server.SubscriptionRoutes(svc)...)
	a.server.AddSchemas(api.SubscriptionSchemas())
	return nil
}
