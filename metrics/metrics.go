// Package metrics holds calgate's Prometheus collectors in one registry, so
// that every process exposes the same names on /metrics.
package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	calgate "github.com/calgate/calgate"
)

// Metrics is the registry and the collectors the core updates. Capabilities
// register their own collectors in Registry.
type Metrics struct {
	Registry *prometheus.Registry
	// HTTPDuration is request latency by route pattern, method and status.
	HTTPDuration *prometheus.HistogramVec
	// EventsWritten counts events written, by type.
	EventsWritten *prometheus.CounterVec
	// EventsDispatched counts events handed to the queue, once per
	// destination.
	EventsDispatched prometheus.Counter
}

// New returns a registry with the Go and process collectors and the core's
// collectors registered.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calgate_http_request_duration_seconds",
			Help:    "HTTP request latency by route, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		EventsWritten: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calgate_events_written_total",
			Help: "Events written to the outbox, by type.",
		}, []string{"type"}),
		EventsDispatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "calgate_events_dispatched_total",
			Help: "Events handed from the outbox to the queue, counted once per destination.",
		}),
	}
	r.MustRegister(m.HTTPDuration, m.EventsWritten, m.EventsDispatched)
	return m
}

// QueueDepth registers a gauge that reads the queue depth when scraped.
func (m *Metrics) QueueDepth(depth func() (int, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "calgate_queue_depth",
		Help: "Tasks waiting in the queue (pending, scheduled and retrying).",
	}, func() float64 {
		n, err := depth()
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// OwedWork registers gauges, read from the database when scraped, of the
// work each destination still owes: events, batches and the age of the
// oldest. A destination that owes nothing is not listed.
func (m *Metrics) OwedWork(owed func(ctx context.Context) ([]calgate.Owed, error)) {
	m.Registry.MustRegister(&owedCollector{owed: owed})
}

var (
	owedEventsDesc = prometheus.NewDesc("calgate_outbox_owed_events",
		"Events a destination has not handled yet (handed to the queue or waiting for a retry).", []string{"destination"}, nil)
	owedBatchesDesc = prometheus.NewDesc("calgate_outbox_owed_batches",
		"Batches of events a destination still owes.", []string{"destination"}, nil)
	owedAgeDesc = prometheus.NewDesc("calgate_outbox_oldest_owed_seconds",
		"Age of the oldest batch a destination still owes.", []string{"destination"}, nil)
)

type owedCollector struct {
	owed func(ctx context.Context) ([]calgate.Owed, error)
}

func (c *owedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- owedEventsDesc
	ch <- owedBatchesDesc
	ch <- owedAgeDesc
}

func (c *owedCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	list, err := c.owed(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(owedEventsDesc, err)
		return
	}
	now := time.Now()
	for _, o := range list {
		ch <- prometheus.MustNewConstMetric(owedEventsDesc, prometheus.GaugeValue, float64(o.Events), o.Destination)
		ch <- prometheus.MustNewConstMetric(owedBatchesDesc, prometheus.GaugeValue, float64(o.Batches), o.Destination)
		ch <- prometheus.MustNewConstMetric(owedAgeDesc, prometheus.GaugeValue, now.Sub(o.Oldest).Seconds(), o.Destination)
	}
}
