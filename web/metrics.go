package web

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optin/optin/consent"
)

// /metrics speaks the Prometheus text exposition format (version 0.0.4),
// written here with the standard library.
//
// Two kinds of numbers: what only this process sees (requests, their
// latencies, webhook calls refused before anything was stored) is counted in
// memory and starts again from zero on restart, which Prometheus' rate()
// handles as a counter reset; what the database knows (events, contacts,
// consents, the outbox, the inbox, alerts, the ledger) is read from it at
// scrape time, from counts kept by triggers (store/migrations/0010_stats.sql),
// so those totals survive restarts and agree with the dashboard.
//
// Labels carry route patterns and fixed vocabularies, never paths, numbers
// or tokens. The endpoint shows no personal data, so it is public, as SPEC §3
// lists it; with Config.MetricsToken set it wants "Authorization: Bearer
// <token>".

// latencyBuckets are the upper bounds, in seconds, of the request latency
// histogram.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type requestKey struct{ route, class string }

type histogram struct {
	buckets []uint64 // per bound, not cumulative; one more for +Inf
	sum     float64
	count   uint64
}

// metrics holds the in-memory counters.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]*histogram
	webhook  map[string]uint64 // by result
}

func newMetrics() *metrics {
	return &metrics{requests: map[requestKey]*histogram{}, webhook: map[string]uint64{}}
}

// statusClass is "2xx", "4xx"…
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// webhookResult names the outcome of a webhook call by the status its
// handler answers with: each refusal has its own (handleWebhookReceive).
func webhookResult(code int) string {
	switch code {
	case http.StatusOK:
		return "accepted"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	default:
		return "error"
	}
}

// observe counts one request to route that answered code after d.
func (m *metrics) observe(route string, code int, d time.Duration) {
	k := requestKey{route, statusClass(code)}
	secs := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.requests[k]
	if h == nil {
		h = &histogram{buckets: make([]uint64, len(latencyBuckets)+1)}
		m.requests[k] = h
	}
	i, _ := slices.BinarySearch(latencyBuckets, secs)
	h.buckets[i]++
	h.sum += secs
	h.count++
	if route == "POST /webhook" {
		m.webhook[webhookResult(code)]++
	}
}

// routeKey is the context key of the *routeNote of a request.
type routeKey struct{}

// routeNote carries the most specific route pattern out of a mux that a
// middleware reached through a copy of the request (r.WithContext), where
// the outer request never sees the inner mux's r.Pattern.
type routeNote struct{ pattern string }

// notePattern wraps a mux that sits behind a middleware copying the request:
// it reports the pattern the mux matched to logRequests.
func notePattern(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if n, ok := r.Context().Value(routeKey{}).(*routeNote); ok && n.pattern == "" {
			n.pattern = r.Pattern
		}
	})
}

// handleMetrics writes the metrics.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if tok := s.cfg.MetricsToken; tok != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token", http.StatusUnauthorized)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	s.metrics.write(bw)
	writeDBMetrics(bw, s.dbMetrics(r.Context()))
}

// dbMetrics reads the database's numbers; nil when it could not.
func (s *Server) dbMetrics(ctx context.Context) *consent.Metrics {
	m, err := s.svc.Metrics(ctx)
	if err != nil {
		s.log.Error("metrics: database", "err", err)
		return nil
	}
	return &m
}

// promWriter writes families of samples.
type promWriter struct{ w io.Writer }

func (p promWriter) family(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

// sample writes one line; labels alternate names and values.
func (p promWriter) sample(name string, v float64, labels ...string) {
	io.WriteString(p.w, name)
	if len(labels) > 0 {
		io.WriteString(p.w, "{")
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				io.WriteString(p.w, ",")
			}
			io.WriteString(p.w, labels[i]+`="`+escapeLabel(labels[i+1])+`"`)
		}
		io.WriteString(p.w, "}")
	}
	io.WriteString(p.w, " "+formatValue(v)+"\n")
}

// escapeLabel escapes a label value as the text format wants.
func escapeLabel(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// write writes the in-memory metrics, in a stable order.
func (m *metrics) write(w io.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := promWriter{w}
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b requestKey) int {
		if c := strings.Compare(a.route, b.route); c != 0 {
			return c
		}
		return strings.Compare(a.class, b.class)
	})
	p.family("optin_http_requests_total", "counter", "HTTP requests answered, by route pattern and status class.")
	for _, k := range keys {
		p.sample("optin_http_requests_total", float64(m.requests[k].count), "route", k.route, "status_class", k.class)
	}
	p.family("optin_http_request_duration_seconds", "histogram", "Time to answer HTTP requests, by route pattern and status class.")
	for _, k := range keys {
		h := m.requests[k]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.buckets[i]
			p.sample("optin_http_request_duration_seconds_bucket", float64(cum), "route", k.route, "status_class", k.class,
				"le", formatValue(le))
		}
		p.sample("optin_http_request_duration_seconds_bucket", float64(h.count), "route", k.route, "status_class", k.class, "le", "+Inf")
		p.sample("optin_http_request_duration_seconds_sum", h.sum, "route", k.route, "status_class", k.class)
		p.sample("optin_http_request_duration_seconds_count", float64(h.count), "route", k.route, "status_class", k.class)
	}
	p.family("optin_webhook_requests_total", "counter",
		"Webhook calls by result: accepted (stored), or refused as unauthorized, malformed, too_large, error.")
	for _, res := range []string{"accepted", "unauthorized", "malformed", "too_large", "error"} {
		p.sample("optin_webhook_requests_total", float64(m.webhook[res]), "result", res)
	}
}

// alertKinds are the kinds of alerts the schema allows.
var alertKinds = []string{"account", "dead_letter", "template"}

// contactStatuses are the contact statuses the schema allows.
var contactStatuses = []consent.ContactStatus{consent.Active, consent.PendingTerms, consent.Undeliverable}

// writeDBMetrics writes the database's numbers, or optin_database_up 0.
func writeDBMetrics(w io.Writer, m *consent.Metrics) {
	p := promWriter{w}
	p.family("optin_database_up", "gauge", "Whether the database answered this scrape.")
	if m == nil {
		p.sample("optin_database_up", 0)
		return
	}
	p.sample("optin_database_up", 1)

	p.family("optin_consent_events_total", "counter",
		"Events in the consent ledger (opt_in, opt_out, confirm, …) by type, category (empty for contact events) and source, since the first.")
	for _, e := range m.Events {
		p.sample("optin_consent_events_total", float64(e.N), "type", string(e.Type), "category", e.Category, "source", string(e.Source))
	}

	p.family("optin_contacts", "gauge", "Contacts by status.")
	byStatus := map[string]int64{}
	for _, c := range m.Contacts {
		byStatus[c.Key] = c.N
	}
	for _, st := range contactStatuses {
		p.sample("optin_contacts", float64(byStatus[string(st)]), "status", string(st))
	}

	p.family("optin_consents", "gauge", "Current consents by category and state.")
	for _, c := range m.Consents {
		p.sample("optin_consents", float64(c.N), "category", c.Category, "state", string(c.State))
	}

	p.family("optin_outbox_messages", "gauge", "Outgoing messages by status: queued and sending are the outbox's depth, dead the dead letters.")
	for _, st := range []consent.DeliveryStatus{consent.StatusQueued, consent.StatusSending, consent.StatusSent,
		consent.StatusDelivered, consent.StatusRead, consent.StatusFailed, consent.StatusDead} {
		p.sample("optin_outbox_messages", float64(m.Outbox.ByStatus[st]), "status", string(st))
	}
	p.family("optin_outbox_retrying", "gauge", "Queued messages that already failed at least once.")
	p.sample("optin_outbox_retrying", float64(m.Outbox.Retrying))
	p.family("optin_outbox_failed_messages", "gauge", "Failed and dead messages by status and error class.")
	for _, f := range m.Outbox.Failures {
		status, class, _ := strings.Cut(f.Key, "/")
		p.sample("optin_outbox_failed_messages", float64(f.N), "status", status, "error_class", class)
	}

	p.family("optin_webhook_inbox_pending", "gauge", "Webhook calls stored and not yet processed.")
	p.sample("optin_webhook_inbox_pending", float64(m.InboxPending))
	p.family("optin_webhook_inbox_failed", "gauge", "Webhook calls stored that could not be processed.")
	p.sample("optin_webhook_inbox_failed", float64(m.InboxFailed))
	p.family("optin_webhook_inbox_ignored", "gauge", "Webhook calls stored and kept because they carry nothing optin acts on (unknown shape, other fields).")
	p.sample("optin_webhook_inbox_ignored", float64(m.InboxIgnored))

	p.family("optin_alerts_unresolved", "gauge", "Provider alerts (template, account, dead_letter) no admin resolved yet.")
	byKind := map[string]int64{}
	for _, a := range m.Alerts {
		byKind[a.Key] = a.N
	}
	for _, k := range alertKinds {
		p.sample("optin_alerts_unresolved", float64(byKind[k]), "kind", k)
	}

	p.family("optin_ledger_last_check_timestamp_seconds", "gauge", "When the ledger was last verified (0: never).")
	var at float64
	if !m.LastCheck.At.IsZero() {
		at = float64(m.LastCheck.At.UnixMilli()) / 1000
	}
	p.sample("optin_ledger_last_check_timestamp_seconds", at)
	p.family("optin_ledger_last_check_intact", "gauge", "1 when the last ledger verification found the chain intact, 0 when not or never run.")
	intact := 0.0
	if !m.LastCheck.At.IsZero() && m.LastCheck.OK() {
		intact = 1
	}
	p.sample("optin_ledger_last_check_intact", intact)
}
