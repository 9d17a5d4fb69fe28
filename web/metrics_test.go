package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// promSample is one parsed sample line.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	promName  = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	promLabel = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseProm parses the Prometheus text format strictly enough to catch what
// a scraper would refuse: every sample's family declared by # TYPE before it
// and only once, valid names, quoted and escaped label values, numeric
// values, no series twice, cumulative histogram buckets ending in +Inf equal
// to _count. It returns the samples keyed by their series ("name{a="1",b="2"}",
// labels sorted).
func parseProm(t *testing.T, text string) map[string]promSample {
	t.Helper()
	out, err := parsePromText(text)
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return out
}

type promError struct{ msg string }

func parsePromText(text string) (out map[string]promSample, err error) {
	defer func() {
		if p, ok := recover().(promError); ok {
			out, err = nil, errors.New(p.msg)
		}
	}()
	types := map[string]string{}
	out = map[string]promSample{}
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("exposition does not end with a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fail := func(format string, args ...any) {
			panic(promError{fmt.Sprintf("line %d %q: %s", i+1, line, fmt.Sprintf(format, args...))})
		}
		if line == "" {
			fail("empty line")
		}
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 4 || (f[1] != "HELP" && f[1] != "TYPE") || !promName.MatchString(f[2]) {
				fail("bad comment")
			}
			if f[1] == "TYPE" {
				if _, dup := types[f[2]]; dup {
					fail("family typed twice")
				}
				switch f[3] {
				case "counter", "gauge", "histogram", "summary", "untyped":
				default:
					fail("unknown type %q", f[3])
				}
				types[f[2]] = f[3]
			}
			continue
		}
		s := promSample{labels: map[string]string{}}
		rest := line
		if j := strings.IndexAny(rest, "{ "); j < 0 {
			fail("no value")
		} else {
			s.name, rest = rest[:j], rest[j:]
		}
		if !promName.MatchString(s.name) {
			fail("bad metric name")
		}
		var keys []string
		if strings.HasPrefix(rest, "{") {
			rest = rest[1:]
			for !strings.HasPrefix(rest, "}") {
				eq := strings.Index(rest, `="`)
				if eq < 0 {
					fail("bad label")
				}
				name := rest[:eq]
				if !promLabel.MatchString(name) {
					fail("bad label name %q", name)
				}
				rest = rest[eq+2:]
				var v strings.Builder
				for {
					if rest == "" {
						fail("unterminated label value")
					}
					c := rest[0]
					rest = rest[1:]
					if c == '"' {
						break
					}
					if c == '\n' {
						fail("raw newline in label value")
					}
					if c == '\\' {
						if rest == "" {
							fail("dangling escape")
						}
						switch rest[0] {
						case '\\', '"':
							v.WriteByte(rest[0])
						case 'n':
							v.WriteByte('\n')
						default:
							fail("bad escape")
						}
						rest = rest[1:]
						continue
					}
					v.WriteByte(c)
				}
				if _, dup := s.labels[name]; dup {
					fail("label %q twice", name)
				}
				s.labels[name] = v.String()
				keys = append(keys, name)
				rest = strings.TrimPrefix(rest, ",")
			}
			rest = rest[1:]
		}
		if !strings.HasPrefix(rest, " ") {
			fail("no space before the value")
		}
		val := strings.TrimPrefix(rest, " ")
		var err error
		switch val {
		case "+Inf":
			s.value = math.Inf(1)
		case "-Inf":
			s.value = math.Inf(-1)
		default:
			s.value, err = strconv.ParseFloat(val, 64)
			if err != nil {
				fail("bad value")
			}
		}
		family := s.name
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(s.name, suf); ok && types[base] == "histogram" {
				family = base
			}
		}
		if types[family] == "" {
			fail("sample before its # TYPE")
		}
		if types[family] == "counter" && !strings.HasSuffix(s.name, "_total") {
			fail("counter without _total")
		}
		key := seriesKey(s.name, s.labels)
		if _, dup := out[key]; dup {
			fail("series twice")
		}
		out[key] = s
	}
	// Histograms: buckets cumulative, +Inf equal to _count.
	for key, s := range out {
		if !strings.HasSuffix(s.name, "_bucket") || s.labels["le"] != "+Inf" {
			continue
		}
		base := strings.TrimSuffix(s.name, "_bucket")
		rest := map[string]string{}
		for k, v := range s.labels {
			if k != "le" {
				rest[k] = v
			}
		}
		count, ok := out[seriesKey(base+"_count", rest)]
		if !ok || count.value != s.value {
			return nil, fmt.Errorf("%s: +Inf bucket %v, _count %v", key, s.value, count.value)
		}
		prev := -1.0
		for _, le := range latencyBuckets {
			l := map[string]string{"le": formatValue(le)}
			for k, v := range rest {
				l[k] = v
			}
			b, ok := out[seriesKey(s.name, l)]
			if !ok || b.value < prev || b.value > s.value {
				return nil, fmt.Errorf("%s: bucket le=%v is %v after %v", key, le, b.value, prev)
			}
			prev = b.value
		}
	}
	return out, nil
}

func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(name)
	if len(keys) > 0 {
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "%s=%q", k, labels[k])
		}
		b.WriteString("}")
	}
	return b.String()
}

// templateBroken answers every send with a template error.
type templateBroken struct{}

func (templateBroken) Send(context.Context, consent.Message) (consent.SendResult, error) {
	return consent.SendResult{}, &consent.ProviderError{Class: consent.ErrTemplate, HTTPStatus: 400, Code: 132001, Title: "Template does not exist"}
}

// TestMetrics scrapes after an opt-in, webhook calls (one stored, refusals
// of each kind) and a send the provider refused, and checks the series.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers", "order_updates"}}); resp.StatusCode != 303 {
		t.Fatalf("opt-in: status %d", resp.StatusCode)
	}
	status := `{"statuses":[{"id":"wamid.1","recipient_id":"4915112345678","status":"delivered","timestamp":"1700000000"}]}`
	for _, tc := range []struct {
		body, secret string
		want         int
	}{{status, "s3cret", 200}, {status, "wrong", 401}, {`{"statuses":[`, "s3cret", 400}, {strings.Repeat("x", 2<<20), "s3cret", 413}} {
		if got := e.webhook(tc.body, tc.secret); got != tc.want {
			t.Fatalf("webhook: status %d, want %d", got, tc.want)
		}
	}
	// The welcome goes to a provider that has no such template.
	d := &consent.Dispatcher{Store: e.db, Sender: templateBroken{}, Clock: e.clock, Rate: 1000, BaseDelay: time.Second}
	if _, err := d.SendDue(ctx); err != nil {
		t.Fatal(err)
	}
	e.get("/optin?phone=%2B4915112345678") // a path with a number: only the pattern may show
	e.get("/no/such/page")

	resp, body := e.get("/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got := parseProm(t, body)
	want := map[string]float64{
		`optin_http_requests_total{route="POST /optin",status_class="3xx"}`:                              1,
		`optin_http_requests_total{route="GET /optin",status_class="2xx"}`:                               1,
		`optin_http_requests_total{route="POST /webhook",status_class="2xx"}`:                            1,
		`optin_http_requests_total{route="POST /webhook",status_class="4xx"}`:                            3,
		`optin_http_requests_total{route="/",status_class="4xx"}`:                                        1,
		`optin_http_request_duration_seconds_count{route="POST /optin",status_class="3xx"}`:              1,
		`optin_http_request_duration_seconds_bucket{le="+Inf",route="POST /webhook",status_class="4xx"}`: 3,
		`optin_webhook_requests_total{result="accepted"}`:                                                1,
		`optin_webhook_requests_total{result="unauthorized"}`:                                            1,
		`optin_webhook_requests_total{result="malformed"}`:                                               1,
		`optin_webhook_requests_total{result="too_large"}`:                                               1,
		`optin_webhook_requests_total{result="error"}`:                                                   0,
		`optin_webhook_inbox_pending`:                                                                    1,
		`optin_webhook_inbox_failed`:                                                                     0,
		`optin_consent_events_total{category="offers",source="web_form",type="opt_in"}`:                  1,
		`optin_consent_events_total{category="order_updates",source="web_form",type="opt_in"}`:           1,
		`optin_contacts{status="active"}`:                                                                1,
		`optin_contacts{status="pending_terms"}`:                                                         0,
		`optin_consents{category="offers",state="opted_in"}`:                                             1,
		`optin_consents{category="order_updates",state="opted_in"}`:                                      1,
		`optin_outbox_messages{status="queued"}`:                                                         0,
		`optin_outbox_messages{status="failed"}`:                                                         1,
		`optin_outbox_messages{status="dead"}`:                                                           0,
		`optin_outbox_retrying`:                                                                          0,
		`optin_outbox_failed_messages{error_class="template",status="failed"}`:                           1,
		`optin_alerts_unresolved{kind="template"}`:                                                       1,
		`optin_alerts_unresolved{kind="dead_letter"}`:                                                    0,
		`optin_database_up`:                         1,
		`optin_ledger_last_check_intact`:            0,
		`optin_ledger_last_check_timestamp_seconds`: 0,
	}
	for series, v := range want {
		s, ok := got[series]
		if !ok {
			t.Errorf("missing %s", series)
		} else if s.value != v {
			t.Errorf("%s = %v, want %v", series, s.value, v)
		}
	}
	for series := range got {
		if strings.Contains(series, "4915112345678") || strings.Contains(series, "/no/such") {
			t.Errorf("series %s holds a path", series)
		}
	}

	// The scrape itself is counted, and a verification shows up.
	if _, err := e.svc.VerifyLedger(ctx); err != nil {
		t.Fatal(err)
	}
	_, body = e.get("/metrics")
	got = parseProm(t, body)
	if s := got[`optin_http_requests_total{route="GET /metrics",status_class="2xx"}`]; s.value != 1 {
		t.Errorf("GET /metrics counted %v times, want 1", s.value)
	}
	if got["optin_ledger_last_check_intact"].value != 1 || got["optin_ledger_last_check_timestamp_seconds"].value != float64(e.clock.t.Unix()) {
		t.Errorf("ledger check: intact %v at %v, want 1 at %d", got["optin_ledger_last_check_intact"].value,
			got["optin_ledger_last_check_timestamp_seconds"].value, e.clock.t.Unix())
	}
}

// TestMetricsAPIRoute checks that routes behind a middleware that copies the
// request (the API's key check) are counted by their own pattern.
func TestMetricsAPIRoute(t *testing.T) {
	e := newEnv(t)
	e.get("/api/v1/check?phone=%2B4915112345678&category=offers", "Authorization", "Bearer "+e.apiKey)
	_, body := e.get("/metrics")
	got := parseProm(t, body)
	if s, ok := got[`optin_http_requests_total{route="GET /api/v1/check",status_class="2xx"}`]; !ok || s.value != 1 {
		t.Errorf("the API check is not counted by its pattern:\n%s", body)
	}
}

func TestMetricsToken(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.MetricsToken = "scrape-me" })
	for _, tc := range []struct {
		header string
		want   int
	}{{"", 401}, {"Bearer wrong", 401}, {"scrape-me", 401}, {"Bearer scrape-me", 200}} {
		var resp *http.Response
		if tc.header == "" {
			resp, _ = e.get("/metrics")
		} else {
			resp, _ = e.get("/metrics", "Authorization", tc.header)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization %q: status %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
}

func TestParsePromRefuses(t *testing.T) {
	for _, bad := range []string{
		"x 1\n",                                 // no TYPE
		"# TYPE x gauge\nx{a=\"1\" 1\n",         // unterminated labels
		"# TYPE x gauge\nx{a=\"1\"} one\n",      // not a number
		"# TYPE x counter\nx 1\n",               // counter without _total
		"# TYPE x gauge\nx 1\nx 2\n",            // series twice
		"# TYPE x gauge\nx{a=\"\\q\"} 1\n",      // bad escape
		"# TYPE x gauge\n# TYPE x gauge\nx 1\n", // typed twice
	} {
		if _, err := parsePromText(bad); err == nil {
			t.Errorf("parser accepted %q", bad)
		}
	}
}
