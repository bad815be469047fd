package main

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	calgate "github.com/calgate/calgate"
	"github.com/calgate/calgate/api"
	"github.com/calgate/calgate/sync/subscriptions"
)

// wireSubscriptions registers iCal subscriptions (external calendars pulled
// in): the API routes, the poll job and the sweep that finds due polls.
//
// CALGATE_ICAL_HORIZON (a Go duration, default 8760h = one year) is how far
// ahead recurring events of subscribed feeds are expanded.
func (a *app) wireSubscriptions(ctx context.Context) error {
	horizon, err := envDuration("CALGATE_ICAL_HORIZON", 365*24*time.Hour, time.Hour)
	if err != nil {
		return err
	}
	polls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "calgate_ical_subscription_polls_total",
		Help: "Polls of iCal subscriptions by outcome: updated, not_modified or error.",
	}, []string{"outcome"})
	if err := a.metrics.Registry.Register(polls); err != nil {
		return fmt.Errorf("subscriptions: register metrics: %w", err)
	}
	svc := subscriptions.New(subscriptions.Options{
		Store:        a.store,
		Client:       a.httpClient(subscriptions.MaxFeedBytes, subscriptions.FetchTimeout),
		Jobs:         a.queue,
		AllowPrivate: a.cfg.AllowPrivateTargets,
		Horizon:      horizon,
		Notify:       a.dispatcher.Notify,
		OnPoll:       func(outcome string) { polls.WithLabelValues(outcome).Inc() },
		Logger:       a.logger,
	})
	a.queue.HandleJob(subscriptions.JobType, calgate.Policy{MaxRetry: 3, Timeout: 2 * time.Minute}, svc.HandleJob)
	a.queue.Every("ical-subscriptions-sweep", subscriptions.SweepInterval, svc.Sweep)
	a.server.Add(a.server.SubscriptionRoutes(svc)...)
	a.server.AddSchemas(api.SubscriptionSchemas())
	return nil
}
