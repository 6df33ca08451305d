package app

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what /metrics exposes. Each server has its own registry, so tests can run
// several servers in one process.
type metrics struct {
	reg            *prometheus.Registry
	webhooks       *prometheus.CounterVec
	queueDepth     prometheus.Gauge
	drops          prometheus.Counter
	handled        *prometheus.HistogramVec
	ack            prometheus.Histogram
	acknowledged   prometheus.Histogram
	githubRequests *prometheus.CounterVec
	rateRemaining  prometheus.Gauge
	artifacts      *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auger_webhooks_total", Help: "Webhook deliveries by event and outcome.",
		}, []string{"event", "outcome"}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auger_webhook_queue_depth", Help: "Webhook events waiting for a worker.",
		}),
		drops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auger_webhook_drops_total", Help: "Webhook deliveries refused with 503 because the queue was full or draining.",
		}),
		handled: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "auger_webhook_handle_seconds", Help: "Time to handle a webhook event, by event and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}, []string{"event", "outcome"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auger_webhook_ack_seconds", Help: "Time to acknowledge a webhook delivery (signature check and enqueue).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		acknowledged: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "auger_command_acknowledgement_seconds", Help: "Time from a command's webhook accepted to its acknowledgement (👀) made on GitHub.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 5, 10, 30},
		}),
		githubRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auger_github_requests_total", Help: "GitHub API requests by method and status code.",
		}, []string{"method", "code"}),
		rateRemaining: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "auger_github_rate_limit_remaining", Help: "GitHub's X-RateLimit-Remaining on the latest response.",
		}),
		artifacts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auger_artifact_recordings_total", Help: "Artifact recording attempts by outcome.",
		}, []string{"outcome"}),
	}
	m.reg.MustRegister(m.webhooks, m.queueDepth, m.drops, m.handled, m.ack, m.acknowledged, m.githubRequests, m.rateRemaining, m.artifacts,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// RecordedArtifact counts one artifact recording attempt (handlers call it).
func (m *metrics) RecordedArtifact(outcome string) { m.artifacts.WithLabelValues(outcome).Inc() }

// githubTransport counts GitHub API requests and follows the rate limit.
func (m *metrics) githubTransport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		code := "error"
		if resp != nil {
			code = strconv.Itoa(resp.StatusCode)
			if v, err := strconv.ParseFloat(resp.Header.Get("X-RateLimit-Remaining"), 64); err == nil {
				m.rateRemaining.Set(v)
			}
		}
		m.githubRequests.WithLabelValues(r.Method, code).Inc()
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func since(t time.Time) float64 { return time.Since(t).Seconds() }
