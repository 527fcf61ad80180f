package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series.
type metrics struct {
	requests *prometheus.HistogramVec // by method, route, status
	ingests  *prometheus.CounterVec   // by outcome, format
	bytes    *prometheus.CounterVec   // by format
	tests    *prometheus.CounterVec   // by format
}

// Ingest outcomes, the "outcome" label of pony_ingest_total.
const (
	outcomeCreated  = "created"  // a new result was stored
	outcomeReplayed = "replayed" // the Idempotency-Key was seen: nothing stored
	outcomeRejected = "rejected" // the client's fault: 4xx
	outcomeFailed   = "failed"   // the server's fault: 5xx
)

func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pony_http_request_duration_seconds",
			Help:    "Latency of HTTP requests, by method, route and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "status"}),
		ingests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pony_ingest_total",
			Help: "Results sent to the server, by outcome (created, replayed, rejected, failed) and format (bag, gotest, junit, tap, xmlrpc).",
		}, []string{"outcome", "format"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pony_ingest_bytes_total",
			Help: "Bytes of request bodies of results stored, by format.",
		}, []string{"format"}),
		tests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pony_ingest_tests_total",
			Help: "Test results (attempts) stored, by format.",
		}, []string{"format"}),
	}
	m.requests = register(reg, m.requests)
	m.ingests = register(reg, m.ingests)
	m.bytes = register(reg, m.bytes)
	m.tests = register(reg, m.tests)
	return m
}

// register registers c, or returns the collector already registered under
// its name (two Servers sharing one Registerer share their series).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if old, ok := are.ExistingCollector.(C); ok {
				return old
			}
		}
		panic(err) // a name clash with another kind of metric is a bug
	}
	return c
}

func (m *metrics) observeRequest(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}

// ingested counts one ingest attempt; bytes and tests only count when a
// new result was stored.
func (m *metrics) ingested(outcome, format string, bytes, tests int) {
	if format == "" {
		format = "unknown"
	}
	m.ingests.WithLabelValues(outcome, format).Inc()
	if outcome == outcomeCreated {
		m.bytes.WithLabelValues(format).Add(float64(bytes))
		m.tests.WithLabelValues(format).Add(float64(tests))
	}
}

func (m *metrics) handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}
