package connectors

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics counts remote calls and pushes per connector type and outcome.
type Metrics struct {
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	pushes   *prometheus.CounterVec
	// conflicts counts remote objects reconciliations found changed or
	// removed at the application and restored.
	conflicts *prometheus.CounterVec
}

// NewMetrics registers the connector metrics in r.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calgate_connector_calls_total",
			Help: "Remote calls of connectors by connector type and outcome (ok, client_error, unauthorized, rate_limited, server_error, network_error).",
		}, []string{"type", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calgate_connector_call_duration_seconds",
			Help:    "Latency of connectors' remote calls by connector type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"type"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calgate_connector_pushes_total",
			Help: "Entry pushes of connectors by connector type and outcome (pushed, failed, rate_limited, needs_reauth).",
		}, []string{"type", "outcome"}),
	}
	m.conflicts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "calgate_connector_conflicts_total",
		Help: "Remote objects that reconciliations found changed or removed at the application and restored, by connector type.",
	}, []string{"type"})
	for _, c := range []prometheus.Collector{m.calls, m.duration, m.pushes, m.conflicts} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) call(typ, outcome string, seconds float64) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(typ, outcome).Inc()
	m.duration.WithLabelValues(typ).Observe(seconds)
}

func (m *Metrics) push(typ, outcome string) {
	if m == nil {
		return
	}
	m.pushes.WithLabelValues(typ, outcome).Inc()
}

func (m *Metrics) conflict(typ string) {
	if m == nil {
		return
	}
	m.conflicts.WithLabelValues(typ).Inc()
}
