package web

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// writeKey returns a new API key with the write scope.
func (e *env) writeKey(name string) string {
	e.t.Helper()
	key, _, err := e.svc.CreateAPIKey(context.Background(), name, "write")
	if err != nil {
		e.t.Fatal(err)
	}
	return key
}

// api sends an API request and returns the status and body.
func (e *env) api(method, path, key, body string, header ...string) (int, string, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.ts.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), resp.Header
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var v apiError
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return v.Error.Code
}

func decodeEvent(t *testing.T, body string) apiEvent {
	t.Helper()
	var ev apiEvent
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatalf("event %q: %v", body, err)
	}
	return ev
}

func TestAPIConsentCreate(t *testing.T) {
	e := newEnv(t)
	key := e.writeKey("crm")
	body := `{"phone":"0151 1234 5678","category":"offers","state":"opted_in","occurred_at":"2026-10-30T08:00:00Z",
		"evidence":{"channel":"shop checkout","order":"A-17","wording":"Yes, send me offers.","language":"en"}}`
	code, out, _ := e.api("POST", "/api/v1/consents", key, body)
	if code != http.StatusCreated {
		t.Fatalf("status = %d, want 201: %s", code, out)
	}
	ev := decodeEvent(t, out)
	if ev.ID == 0 || ev.Type != consent.EventOptIn || ev.Phone != "+4915112345678" || ev.Category != "offers" ||
		ev.State != consent.OptedIn || ev.Source != consent.SourceAPI || ev.Actor != "api:crm" ||
		ev.Evidence["channel"] != "shop checkout" || ev.Evidence["order"] != "A-17" || ev.WordingHash == "" ||
		!ev.OccurredAt.Equal(time.Date(2026, 10, 30, 8, 0, 0, 0, time.UTC)) || !ev.RecordedAt.Equal(e.clock.t) {
		t.Errorf("event = %+v", ev)
	}
	if _, ok := ev.Evidence["wording"]; ok {
		t.Errorf("the wording stays in the evidence instead of being stored by hash")
	}
	w, err := e.db.Wording(context.Background(), ev.WordingHash)
	if err != nil || w.Text != "Yes, send me offers." {
		t.Errorf("wording = %+v, %v", w, err)
	}
	code, out, _ = e.api("GET", "/api/v1/contacts/%2B4915112345678", e.apiKey, "")
	if code != 200 || !strings.Contains(out, `"offers":{"state":"opted_in","since":"2026-10-30T08:00:00Z","source":"api"}`) {
		t.Errorf("contact: %d %s", code, out)
	}
	if got := e.rows(); got["outbox"] != 0 {
		t.Errorf("outbox = %d: the API sent a message", got["outbox"])
	}
	if rep, err := e.db.VerifyLedger(context.Background(), e.clock.t); err != nil || !rep.OK() {
		t.Errorf("ledger: %+v %v", rep, err)
	}

	// The same report again records nothing: 200 with the event on record.
	code, again, _ := e.api("POST", "/api/v1/consents", key, body)
	if code != http.StatusOK || decodeEvent(t, again).ID != ev.ID {
		t.Errorf("repeat: %d %s, want 200 with event %d", code, again, ev.ID)
	}
	// An opt-out is a new event; source import is allowed.
	code, out, _ = e.api("POST", "/api/v1/consents", key, `{"phone":"+4915112345678","category":"offers","state":"opted_out","source":"import"}`)
	if code != http.StatusCreated || decodeEvent(t, out).Type != consent.EventOptOut || decodeEvent(t, out).Source != consent.SourceImport {
		t.Errorf("opt-out: %d %s", code, out)
	}
	if got := e.rows(); got["events"] != 2 {
		t.Errorf("events = %d, want 2", got["events"])
	}
	code, out, _ = e.api("GET", "/api/v1/check?phone=%2B4915112345678&category=offers", e.apiKey, "")
	if !strings.Contains(out, `"reason":"opted_out"`) {
		t.Errorf("check: %d %s", code, out)
	}
}

func TestAPIConsentErrors(t *testing.T) {
	e := newEnv(t)
	key := e.writeKey("crm")
	ok := `"phone":"+4915112345678","category":"offers","state":"opted_in"`
	tests := []struct {
		name     string
		body     string
		want     int
		wantCode string
		field    string
	}{
		{"malformed JSON", `{"phone":`, 400, "malformed_json", ""},
		{"not an object", `[1,2]`, 400, "malformed_json", ""},
		{"two objects", `{` + ok + `}{}`, 400, "malformed_json", ""},
		{"unknown field", `{` + ok + `,"states":"x"}`, 400, "malformed_json", ""},
		{"oversized", `{` + ok + `,"evidence":{"x":"` + strings.Repeat("a", 20<<10) + `"}}`, 413, "too_large", ""},
		{"unknown category", `{"phone":"+4915112345678","category":"spam","state":"opted_in"}`, 422, "invalid", "category"},
		{"no category", `{"phone":"+4915112345678","state":"opted_in"}`, 422, "invalid", "category"},
		{"invalid phone", `{"phone":"12","category":"offers","state":"opted_in"}`, 422, "invalid_phone", "phone"},
		{"bad state", `{"phone":"+4915112345678","category":"offers","state":"pending"}`, 422, "invalid", "state"},
		{"future", `{` + ok + `,"occurred_at":"2026-11-02T00:00:00Z"}`, 422, "invalid", "occurred_at"},
		{"unparsable date", `{` + ok + `,"occurred_at":"yesterday"}`, 422, "invalid", "occurred_at"},
		{"state not a string", `{"phone":"+4915112345678","category":"offers","state":1}`, 422, "invalid", "state"},
		{"evidence not strings", `{` + ok + `,"evidence":{"n":1}}`, 422, "invalid", "evidence"},
		{"evidence too large", `{` + ok + `,"evidence":{"x":"` + strings.Repeat("a", 5000) + `"}}`, 422, "invalid", "evidence"},
		{"evidence bad collected_at", `{` + ok + `,"evidence":{"collected_at":"soon"}}`, 422, "invalid", "evidence"},
		{"own source", `{` + ok + `,"source":"web_form"}`, 422, "invalid", "source"},
		{"unknown source", `{` + ok + `,"source":"fax"}`, 422, "invalid", "source"},
	}
	before := e.rows()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := e.api("POST", "/api/v1/consents", key, tt.body)
			if code != tt.want || errorCode(t, out) != tt.wantCode {
				t.Errorf("status = %d %s, want %d %s", code, out, tt.want, tt.wantCode)
			}
			if tt.field != "" && !strings.Contains(out, `"`+tt.field+`":`) {
				t.Errorf("body %s does not name the field %s", out, tt.field)
			}
			if got := e.rows(); !equalRows(got, before) {
				t.Errorf("rows = %v, want unchanged %v", got, before)
			}
		})
	}
	code, out, _ := e.api("POST", "/api/v1/consents", key, `{`+ok+`}`, "Idempotency-Key", strings.Repeat("k", 256))
	if code != 400 || errorCode(t, out) != "invalid_idempotency_key" {
		t.Errorf("long idempotency key: %d %s", code, out)
	}
}

func equalRows(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestAPIScopes(t *testing.T) {
	e := newEnv(t)
	e.subscribe("+4915112345678", "en", "offers")
	before := e.rows()
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/api/v1/consents", `{"phone":"+4915112345678","category":"offers","state":"opted_out"}`},
		{"DELETE", "/api/v1/contacts/%2B4915112345678", ""},
	} {
		code, out, _ := e.api(r.method, r.path, e.apiKey, r.body)
		if code != http.StatusForbidden || errorCode(t, out) != "insufficient_scope" {
			t.Errorf("%s %s with a read key: %d %s, want 403 insufficient_scope", r.method, r.path, code, out)
		}
		code, _, _ = e.api(r.method, r.path, "", r.body)
		if code != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d, want 401", r.method, r.path, code)
		}
	}
	if got := e.rows(); !equalRows(got, before) {
		t.Errorf("rows = %v, want unchanged %v", got, before)
	}
}

func TestAPIKeyLastUse(t *testing.T) {
	e := newEnv(t)
	last := func() string {
		var v string
		e.db.SQL().QueryRow(`SELECT last_used_at FROM api_keys WHERE name = 'test'`).Scan(&v)
		return v
	}
	e.api("GET", "/api/v1/categories", e.apiKey, "")
	first := last()
	if first == "" {
		t.Fatal("last_used_at not set after a call")
	}
	e.clock.t = e.clock.t.Add(30 * time.Second)
	e.api("GET", "/api/v1/categories", e.apiKey, "")
	if got := last(); got != first {
		t.Errorf("last_used_at = %s after 30 s, want still %s (written at most once a minute)", got, first)
	}
	e.clock.t = e.clock.t.Add(31 * time.Second)
	e.api("GET", "/api/v1/categories", e.apiKey, "")
	if got := last(); got == first {
		t.Errorf("last_used_at not updated after a minute")
	}
}

func TestAPIIdempotency(t *testing.T) {
	e := newEnv(t)
	key, other := e.writeKey("crm"), e.writeKey("shop")
	body := `{"phone":"+4915112345678","category":"offers","state":"opted_in","evidence":{"order":"1"}}`
	code1, out1, _ := e.api("POST", "/api/v1/consents", key, body, "Idempotency-Key", "req-1")
	if code1 != 201 {
		t.Fatalf("first: %d %s", code1, out1)
	}
	// Meanwhile the person opts out: a replay still answers as the first time.
	e.api("POST", "/api/v1/consents", key, `{"phone":"+4915112345678","category":"offers","state":"opted_out"}`)
	events := e.rows()["events"]
	e.clock.t = e.clock.t.Add(time.Hour)
	code2, out2, h := e.api("POST", "/api/v1/consents", key, body, "Idempotency-Key", "req-1")
	if code2 != code1 || out2 != out1 || h.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %d %s (replayed %q), want %d %s", code2, out2, h.Get("Idempotent-Replayed"), code1, out1)
	}
	// Evidence keys in another order are the same request.
	code2, _, _ = e.api("POST", "/api/v1/consents", key, `{"evidence":{"order":"1"},"state":"opted_in","category":"offers","phone":"+4915112345678"}`,
		"Idempotency-Key", "req-1")
	if code2 != 201 {
		t.Errorf("same request reordered: %d, want the replayed 201", code2)
	}
	code, out, _ := e.api("POST", "/api/v1/consents", key, strings.Replace(body, `"1"`, `"2"`, 1), "Idempotency-Key", "req-1")
	if code != 422 || errorCode(t, out) != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %s, want 422 idempotency_key_reused", code, out)
	}
	if got := e.rows()["events"]; got != events {
		t.Errorf("events = %d after replays, want %d", got, events)
	}
	// Keys are per API key: another key's req-1 is a new request.
	code, out, _ = e.api("POST", "/api/v1/consents", other, body, "Idempotency-Key", "req-1")
	if code != 201 || decodeEvent(t, out).ID == decodeEvent(t, out1).ID {
		t.Errorf("other API key, same Idempotency-Key: %d %s, want a new event", code, out)
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM api_idempotency`).Scan(&n)
	if n != 2 {
		t.Errorf("api_idempotency rows = %d, want 2", n)
	}
}

func TestAPIStaleReport(t *testing.T) {
	e := newEnv(t)
	key := e.writeKey("crm")
	e.api("POST", "/api/v1/consents", key, `{"phone":"+4915112345678","category":"offers","state":"opted_out","occurred_at":"2026-10-20T00:00:00Z"}`)
	before := e.rows()
	code, out, _ := e.api("POST", "/api/v1/consents", key, `{"phone":"+4915112345678","category":"offers","state":"opted_in","occurred_at":"2026-10-01T00:00:00Z"}`)
	if code != 409 || errorCode(t, out) != "stale" {
		t.Errorf("older opt-in after an opt-out: %d %s, want 409 stale", code, out)
	}
	if got := e.rows(); !equalRows(got, before) {
		t.Errorf("rows changed: %v → %v", before, got)
	}
}

func TestAPIEraseAndReAdd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := e.writeKey("crm")
	c, _ := e.subscribe("+4915112345678", "en", "offers", "order_updates")
	code, out, _ := e.api("DELETE", "/api/v1/contacts/015112345678", key, "")
	if code != http.StatusNoContent || out != "" {
		t.Fatalf("erase: %d %q, want 204", code, out)
	}
	if code, _, _ := e.api("GET", "/api/v1/contacts/%2B4915112345678", e.apiKey, ""); code != 404 {
		t.Errorf("contact after erasure: %d, want 404", code)
	}
	if code, out, _ := e.api("DELETE", "/api/v1/contacts/%2B4915112345678", key, ""); code != 404 || errorCode(t, out) != "not_found" {
		t.Errorf("second erase: %d %s, want 404", code, out)
	}
	if code, out, _ := e.api("DELETE", "/api/v1/contacts/%2B4930123", key, ""); code != 404 && code != 400 {
		t.Errorf("unknown number: %d %s", code, out)
	}
	ts, err := e.db.Tombstones(ctx, e.svc.PhoneHash("+4915112345678"))
	if err != nil || len(ts) != 1 || ts[0].Reason != "api" || ts[0].Actor != "api:crm" {
		t.Errorf("tombstones = %+v, %v", ts, err)
	}
	if rep, err := e.db.VerifyLedger(ctx, e.clock.t); err != nil || !rep.OK() {
		t.Errorf("ledger after API erasure: %+v %v", rep, err)
	}
	var events int
	e.db.SQL().QueryRow(`SELECT count(*) FROM events WHERE contact_id = ? AND type = 'erased' AND source = 'api'`, c.ID).Scan(&events)
	if events != 1 {
		t.Errorf("erased events = %d, want 1", events)
	}

	erasedAt := e.clock.t
	e.clock.t = e.clock.t.Add(48 * time.Hour)
	before := e.rows()
	for _, tt := range []struct{ name, body string }{
		{"no evidence", `{"phone":"+4915112345678","category":"offers","state":"opted_in"}`},
		{"opt-out", `{"phone":"+4915112345678","category":"offers","state":"opted_out"}`},
		{"description only", `{"phone":"+4915112345678","category":"offers","state":"opted_in","evidence":{"description":"signed"}}`},
		{"collected before erasure", `{"phone":"+4915112345678","category":"offers","state":"opted_in",
			"evidence":{"description":"signed the form","collected_at":"` + erasedAt.Add(-time.Hour).Format(time.RFC3339) + `"}}`},
		{"occurred before erasure", `{"phone":"+4915112345678","category":"offers","state":"opted_in","occurred_at":"` +
			erasedAt.Add(-time.Hour).Format(time.RFC3339) + `","evidence":{"description":"signed the form","collected_at":"` +
			erasedAt.Add(time.Hour).Format(time.RFC3339) + `"}}`},
	} {
		code, out, _ := e.api("POST", "/api/v1/consents", key, tt.body)
		if code != 409 || errorCode(t, out) != "erased" {
			t.Errorf("%s: %d %s, want 409 erased", tt.name, code, out)
		}
	}
	if got := e.rows(); !equalRows(got, before) {
		t.Errorf("rows changed by refused re-adds: %v → %v", before, got)
	}
	code, out, _ = e.api("POST", "/api/v1/consents", key, `{"phone":"+4915112345678","category":"offers","state":"opted_in",
		"evidence":{"description":"signed the paper form at the Berlin shop","collected_at":"`+erasedAt.Add(24*time.Hour).Format(time.RFC3339)+`"}}`)
	if code != 201 {
		t.Errorf("re-add with new evidence: %d %s, want 201", code, out)
	}
	if rep, err := e.db.VerifyLedger(ctx, e.clock.t); err != nil || !rep.OK() {
		t.Errorf("ledger: %+v %v", rep, err)
	}
}

func TestAPIEvents(t *testing.T) {
	e := newEnv(t)
	key := e.writeKey("crm")
	for _, n := range []string{"+4915112345671", "+4915112345672", "+4915112345673"} {
		e.api("POST", "/api/v1/consents", key, `{"phone":"`+n+`","category":"offers","state":"opted_in","evidence":{"note":"n"}}`)
	}
	e.api("DELETE", "/api/v1/contacts/%2B4915112345672", key, "")

	var all []apiEvent
	after := ""
	for page := 0; page < 10; page++ {
		code, out, _ := e.api("GET", "/api/v1/events?limit=2&after="+after, e.apiKey, "")
		if code != 200 {
			t.Fatalf("page %d: %d %s", page, code, out)
		}
		var p struct {
			Events []apiEvent `json:"events"`
			Next   string     `json:"next"`
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 2 {
			t.Fatalf("page of %d events with limit=2", len(p.Events))
		}
		if len(p.Events) == 0 {
			if p.Next != after {
				t.Errorf("empty page: next = %q, want the cursor back %q", p.Next, after)
			}
			break
		}
		all = append(all, p.Events...)
		after = p.Next
	}
	if len(all) != 4 {
		t.Fatalf("events = %d, want 4 (3 opt-ins and an erasure)", len(all))
	}
	for i, ev := range all {
		if ev.ID != int64(i+1) {
			t.Errorf("event %d has id %d: not in commit order", i, ev.ID)
		}
	}
	if all[0].Phone != "+4915112345671" || all[0].Evidence["note"] != "n" || all[0].Erased {
		t.Errorf("event 1 = %+v", all[0])
	}
	if ev := all[1]; ev.Phone != "" || ev.Actor != "" || len(ev.Evidence) != 0 || !ev.Erased {
		t.Errorf("event of an erased contact = %+v, want personal fields blank", ev)
	}
	if ev := all[3]; ev.Type != consent.EventErased || ev.Actor != "api:crm" || ev.Phone != "" {
		t.Errorf("erasure event = %+v", ev)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "after=!!", "after=" + "bm9wZQ"} {
		code, out, _ := e.api("GET", "/api/v1/events?"+q, e.apiKey, "")
		if code != 400 {
			t.Errorf("?%s: %d %s, want 400", q, code, out)
		}
	}
	code, out, _ := e.api("GET", "/api/v1/events", e.apiKey, "")
	if code != 200 || strings.Count(out, `"id":`) != 4 {
		t.Errorf("default page: %d %s", code, out)
	}
}

func TestAPICategories(t *testing.T) {
	e := newEnv(t)
	code, out, _ := e.api("GET", "/api/v1/categories?lang=de", e.apiKey, "")
	if code != 200 || !strings.Contains(out, `{"slug":"offers","name":"Angebote","description":"Rabatte, Sales und Aktionen.","marketing":true}`) ||
		!strings.Contains(out, `"slug":"order_updates"`) {
		t.Errorf("categories: %d %s", code, out)
	}
}

// apiRoutes reads the API routes registered in the Go source src (routes.go):
// every pattern string literal "METHOD /api/v1/…".
func apiRoutes(t *testing.T, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "routes.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	pattern := regexp.MustCompile(`^(GET|POST|PUT|PATCH|DELETE) (/api/v1/\S+)$`)
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		s, _ := strconv.Unquote(lit.Value)
		if m := pattern.FindStringSubmatch(s); m != nil {
			out = append(out, m[1]+" "+m[2])
		} else if strings.Contains(s, "/api/v1/") {
			out = append(out, "ANY "+s) // documented under no method, so reported
		}
		return true
	})
	sort.Strings(out)
	return out
}

// documentedRoutes lists "METHOD path" of every operation in an OpenAPI document.
func documentedRoutes(t *testing.T, raw []byte) []string {
	t.Helper()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	var out []string
	for path, ops := range doc.Paths {
		for method := range ops {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// routeMismatches lists the routes missing from the document and the
// documented operations no route serves.
func routeMismatches(routes, documented []string) []string {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range list {
			m[x] = true
		}
		return m
	}
	inDoc, inRoutes := in(documented), in(routes)
	var out []string
	for _, r := range routes {
		if !inDoc[r] {
			out = append(out, "route "+r+" is not documented in web/openapi.json")
		}
	}
	for _, d := range documented {
		if !inRoutes[d] {
			out = append(out, "web/openapi.json documents "+d+", which routes.go does not register")
		}
	}
	return out
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	routes, documented := apiRoutes(t, src), documentedRoutes(t, raw)
	if len(routes) < 7 {
		t.Fatalf("found only %d API routes in routes.go: %v", len(routes), routes)
	}
	for _, m := range routeMismatches(routes, documented) {
		t.Error(m)
	}

	// The check itself: an added route, or one changed by hand, is caught.
	for _, add := range []string{
		`api.HandleFunc("PUT /api/v1/contacts/{phone}", s.handleAPIContactShow)`,
		`api.HandleFunc("/api/v1/stats", s.handleAPICheck)`,
	} {
		changed := strings.Replace(string(src), `api.HandleFunc("GET /api/v1/check", s.handleAPICheck)`,
			`api.HandleFunc("GET /api/v1/check", s.handleAPICheck)`+"\n\t"+add, 1)
		if len(routeMismatches(apiRoutes(t, []byte(changed)), documented)) != 1 {
			t.Errorf("adding %s is not reported", add)
		}
	}

	e := newEnv(t)
	code, out, h := e.api("GET", "/api/v1/openapi.json", "", "")
	if code != 200 || h.Get("Content-Type") != "application/json" || out != string(raw) {
		t.Errorf("GET /api/v1/openapi.json: %d %s, want the embedded document without a key", code, h.Get("Content-Type"))
	}
}

// TestOpenAPISchemasMatchTheJSON checks that the documented objects have
// exactly the fields the handlers write.
func TestOpenAPISchemasMatchTheJSON(t *testing.T) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{
		"Event":          toAPIEvent(consent.LedgerEvent{}),
		"Contact":        apiContact{},
		"ConsentRequest": consentRequest{},
	} {
		b, _ := json.Marshal(v)
		var fields map[string]json.RawMessage
		json.Unmarshal(b, &fields)
		var got, want []string
		for k := range fields {
			got = append(got, k)
		}
		for k := range doc.Components.Schemas[name].Properties {
			want = append(want, k)
		}
		sort.Strings(got)
		sort.Strings(want)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: the JSON has %v, the document %v", name, got, want)
		}
	}
}
