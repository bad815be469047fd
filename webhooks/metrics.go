package webhooks

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts delivery attempts by outcome and times them.
type Metrics struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the webhook collectors in r:
// calgate_webhook_attempts_total{outcome} and
// calgate_webhook_attempt_duration_seconds{outcome}.
func NewMetrics(r prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calgate_webhook_attempts_total",
			Help: "Webhook delivery attempts by outcome (succeeded, gone, retry).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calgate_webhook_attempt_duration_seconds",
			Help:    "Time from the start of a webhook call to the end of the answer, by outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.latency} {
		if err := r.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(a Attempt) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(string(a.Outcome)).Inc()
	m.latency.WithLabelValues(string(a.Outcome)).Observe(a.Latency.Seconds())
}
