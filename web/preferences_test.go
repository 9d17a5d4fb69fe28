package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// subscribe opts a number in through the service, as the form would, and
// returns a fresh preference token for it.
func (e *env) subscribe(phone, lang string, cats ...string) (consent.Contact, string) {
	e.t.Helper()
	ctx := context.Background()
	out, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: phone, Categories: cats, Lang: lang,
		Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out.Contact, e.token(out.Contact.ID)
}

func (e *env) token(contactID int64) string {
	e.t.Helper()
	link, err := e.svc.PreferenceLink(context.Background(), contactID)
	if err != nil {
		e.t.Fatal(err)
	}
	_, token, ok := strings.Cut(link, "/p/")
	if !ok {
		e.t.Fatalf("link %q has no /p/", link)
	}
	return token
}

// dump is the whole database as text, to show that a request changed
// nothing at all, not even a timestamp.
func (e *env) dump() string {
	e.t.Helper()
	db := e.db.SQL()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if e.db.Postgres() {
		rows, err = db.Query(`SELECT table_name FROM information_schema.tables
			WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM "` + table + `"`)
		if err != nil {
			e.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s %v\n", table, vals)
		}
		rows.Close()
	}
	return b.String()
}

func (e *env) states(contactID int64) map[string]consent.State {
	e.t.Helper()
	cs, err := e.db.Consents(context.Background(), contactID)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]consent.State{}
	for _, c := range cs {
		out[c.Category] = c.State
	}
	return out
}

// stateOf returns the data-state of a category's state badge on a page.
func stateOf(body, slug string) string {
	re := regexp.MustCompile(`data-testid="pref-state-` + slug + `" data-state="([a-z_]+)"`)
	if m := re.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

// checkbox returns the opening tag of a category's checkbox.
func checkbox(body, slug string) string {
	return regexp.MustCompile(`<input[^>]*data-testid="pref-` + slug + `"[^>]*>`).FindString(body)
}

const anna, ben = "+4915112345678", "+4915187654321"

func TestPreferencesShow(t *testing.T) {
	e := newEnv(t)
	_, token := e.subscribe(anna, "en", "offers")
	resp, body := e.get("/p/" + token)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	for _, want := range []string{`data-testid="prefs"`, "Your messages from Acme", `data-testid="prefs-save"`,
		`data-testid="prefs-stop-all"`, `data-testid="prefs-download"`, `data-testid="prefs-rotate"`,
		`data-testid="prefs-erase"`, `action="/p/` + token + `"`, `action="/p/` + token + `/erase"`,
		"Subscribed since 1 November 2026", `href="/p/` + token + `?lang=de"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if got := stateOf(body, "offers"); got != "opted_in" {
		t.Errorf("offers state = %q, want opted_in", got)
	}
	if got := stateOf(body, "order_updates"); got != "none" {
		t.Errorf("order_updates state = %q, want none", got)
	}
	if box := checkbox(body, "offers"); !strings.Contains(box, " checked") || strings.Contains(box, " disabled") {
		t.Errorf("offers checkbox = %s, want checked and enabled", box)
	}
	if box := checkbox(body, "order_updates"); strings.Contains(box, " checked") || !strings.Contains(box, " disabled") {
		t.Errorf("order_updates checkbox = %s, want unchecked and disabled", box)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<style") || strings.Contains(body, " style=") ||
		regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
		t.Errorf("page has inline script or style")
	}
	for header, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Robots-Tag": "noindex"} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if strings.Contains(body, "15112345678") {
		t.Errorf("page shows the phone number")
	}
}

// TestPreferencesGetChangesNothing follows every link optin puts in a
// message — the preference page, its confirmation pages, the receipts, the
// thank-you page — 10,000 times, as a link scanner would, and finds the
// database byte for byte the same.
func TestPreferencesGetChangesNothing(t *testing.T) {
	e := newEnv(t, withBaseURL)
	receipts, id := e.optInForReceipt()
	_, token := e.subscribe(anna, "en", "offers", "order_updates")
	resp := e.post("/optin", url.Values{"phone": {ben}, "category": {"offers"}, "lang": {"en"}}, "Origin", e.ts.URL)
	thanks := resp.Header.Get("Location")
	if thanks == "" {
		t.Fatal("no thank-you link")
	}
	before := e.dump()
	paths := []string{"/p/" + token, "/p/" + token + "?done=saved", "/p/" + token + "?lang=de",
		"/p/" + token + "?done=rotated&lang=pt", "/p/" + strings.Repeat("A", 43), "/p/" + token + "/erase",
		"/p/" + token + "/download", "/p/" + token + "/stop", "/p/" + token + "/rotate",
		receipts + id + ".json", receipts + id, receipts + "nope.json", thanks, "/terms?lang=es"}
	const n = 10000
	for i := range n {
		path := paths[i%len(paths)]
		resp, _ := e.get(path, "User-Agent", "LinkScanner/1.0")
		if resp.StatusCode >= 500 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
	if after := e.dump(); after != before {
		t.Errorf("%d GETs changed the database:\nbefore:\n%s\nafter:\n%s", n, before, after)
	}
}

func TestPreferencesTokenIsBoundToItsContact(t *testing.T) {
	e := newEnv(t)
	a, tokenA := e.subscribe(anna, "en", "offers", "order_updates")
	b, _ := e.subscribe(ben, "en", "recommendations")
	_, body := e.get("/p/" + tokenA)
	if stateOf(body, "offers") != "opted_in" || stateOf(body, "recommendations") != "none" {
		t.Errorf("A's page shows offers %q, recommendations %q; want A's own states",
			stateOf(body, "offers"), stateOf(body, "recommendations"))
	}
	bBefore := e.states(b.ID)
	e.post("/p/"+tokenA+"/stop", url.Values{"lang": {"en"}})
	if got := e.states(a.ID); got["offers"] != consent.OptedOut || got["order_updates"] != consent.OptedOut {
		t.Errorf("A after stop = %v", got)
	}
	if got := e.states(b.ID); got["recommendations"] != bBefore["recommendations"] || len(got) != len(bBefore) {
		t.Errorf("B after A's stop = %v, want %v", got, bBefore)
	}
}

func TestPreferencesUnknownTokens(t *testing.T) {
	e := newEnv(t)
	a, token := e.subscribe(anna, "en", "offers")
	var old []string
	for range consent.PreferenceTokensKept {
		old = append(old, e.token(a.ID)) // pushes token out of the five kept
	}
	forged := []byte(old[len(old)-1])
	forged[0] ^= 1
	rotated := old[len(old)-1]
	resp := e.post("/p/"+rotated+"/rotate", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rotate: status %d", resp.StatusCode)
	}
	_, notFound := e.get("/no-such-page")
	before := e.dump()
	for name, tok := range map[string]string{"retired": token, "rotated": rotated, "forged": string(forged),
		"garbage": "hello", "hash-like": strings.Repeat("a", 64)} {
		resp, body := e.get("/p/" + tok)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `data-testid="error-page"`) {
			t.Errorf("GET %s token: status %d", name, resp.StatusCode)
		}
		if strip(body) != strip(notFound) {
			t.Errorf("GET %s token: the 404 page differs from an unknown address's", name)
		}
		for _, action := range []string{"", "/stop", "/download", "/rotate", "/erase"} {
			resp := e.post("/p/"+tok+action, url.Values{"confirm": {"yes"}, "category": {"offers"}})
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("POST %s token%s: status %d, want 404", name, action, resp.StatusCode)
			}
		}
	}
	if e.dump() != before {
		t.Errorf("requests with unknown tokens changed the database")
	}
}

// strip drops the language links, which name the address asked for.
func strip(body string) string {
	return regexp.MustCompile(`href="[^"]*lang=[^"]*"`).ReplaceAllString(body, "")
}

func TestPreferencesCrossOriginPostIsRefused(t *testing.T) {
	e := newEnv(t)
	_, token := e.subscribe(anna, "en", "offers")
	before := e.dump()
	for _, action := range []string{"", "/stop", "/download", "/rotate", "/erase"} {
		resp := e.post("/p/"+token+action, url.Values{"confirm": {"yes"}},
			"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST %s: status %d, want 403", action, resp.StatusCode)
		}
		resp = e.post("/p/"+token+action, url.Values{"confirm": {"yes"}}, "Origin", "https://evil.example")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("foreign-origin POST %s: status %d, want 403", action, resp.StatusCode)
		}
	}
	if e.dump() != before {
		t.Errorf("refused cross-origin POSTs changed the database")
	}
}

func TestPreferencesSave(t *testing.T) {
	e := newEnv(t)
	a, token := e.subscribe(anna, "en", "offers", "order_updates")

	// Untick offers.
	resp := e.post("/p/"+token, url.Values{"lang": {"en"}, "category": {"order_updates"}},
		"User-Agent", "prefs-agent", "Origin", e.ts.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if loc != "/p/"+token+"?done=saved&lang=en" {
		t.Errorf("Location = %q", loc)
	}
	_, body := e.get(loc)
	if !strings.Contains(body, `data-testid="prefs-done"`) || !strings.Contains(body, "Your choices are saved.") {
		t.Errorf("page after save lacks the confirmation")
	}
	if stateOf(body, "offers") != "opted_out" || stateOf(body, "order_updates") != "opted_in" {
		t.Errorf("states after save: offers %q, order_updates %q", stateOf(body, "offers"), stateOf(body, "order_updates"))
	}
	if box := checkbox(body, "offers"); strings.Contains(box, " checked") || strings.Contains(box, " disabled") {
		t.Errorf("opted-out checkbox = %s, want unchecked and enabled", box)
	}
	events, _ := e.db.Events(context.Background(), a.ID)
	last := events[len(events)-1]
	ev := last.Evidence
	if last.Type != consent.EventOptOut || last.Category != "offers" || ev.Source != consent.SourcePreferenceCenter ||
		ev.IP != "127.0.0.0/24" || ev.UserAgent != "prefs-agent" || ev.FormVersion != prefsFormVersion ||
		strings.Contains(ev.PageURL, token) {
		t.Errorf("opt-out event = %+v", last)
	}

	// Tick it again: the page's wording is the evidence.
	resp = e.post("/p/"+token, url.Values{"lang": {"en"}, "category": {"order_updates", "offers"}})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "done=saved") {
		t.Errorf("Location = %q, want done=saved", loc)
	}
	events, _ = e.db.Events(context.Background(), a.ID)
	last = events[len(events)-1]
	w, err := e.db.Wording(context.Background(), last.WordingHash)
	if last.Type != consent.EventOptIn || err != nil || w.Text != prefsWording("en", "Acme") {
		t.Errorf("opt-in event = %+v with wording %q (%v)", last, w.Text, err)
	}

	// Nothing new: done=unchanged.
	resp = e.post("/p/"+token, url.Values{"lang": {"en"}, "category": {"order_updates", "offers"}})
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "done=unchanged") {
		t.Errorf("Location = %q, want done=unchanged", loc)
	}

	// An unknown category: the page again with an error, nothing changed.
	before := e.dump()
	resp = e.post("/p/"+token, url.Values{"lang": {"en"}, "category": {"offers", "lottery"}})
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), `data-testid="error-summary"`) {
		t.Errorf("unknown category: status %d", resp.StatusCode)
	}
	if e.dump() != before {
		t.Errorf("a rejected save changed the database")
	}
}

func TestPreferencesStopAll(t *testing.T) {
	e := newEnv(t)
	a, token := e.subscribe(anna, "en", "offers", "order_updates")
	resp := e.post("/p/"+token+"/stop", url.Values{"lang": {"en"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/p/"+token+"?done=stopped&lang=en" {
		t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := e.states(a.ID); got["offers"] != consent.OptedOut || got["order_updates"] != consent.OptedOut || len(got) != 2 {
		t.Errorf("states = %v, want both opted out and nothing else", got)
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM events WHERE type = 'opt_out' AND source = 'preference_center'`).Scan(&n)
	if n != 2 {
		t.Errorf("%d opt-out events from the preference center, want 2", n)
	}
	e.db.SQL().QueryRow(`SELECT count(*) FROM outbox WHERE status = 'queued'`).Scan(&n)
	if n != 0 {
		t.Errorf("%d messages still queued after stopping everything", n)
	}
}

func TestPreferencesRotate(t *testing.T) {
	e := newEnv(t)
	_, token := e.subscribe(anna, "en", "offers")
	resp := e.post("/p/"+token+"/rotate", url.Values{"lang": {"de"}})
	loc := resp.Header.Get("Location")
	fresh, ok := strings.CutPrefix(loc, "/p/")
	if resp.StatusCode != http.StatusSeeOther || !ok || !strings.HasSuffix(loc, "?done=rotated&lang=de") {
		t.Fatalf("status %d, Location %q", resp.StatusCode, loc)
	}
	fresh, _, _ = strings.Cut(fresh, "?")
	if fresh == token {
		t.Fatalf("rotation kept the token")
	}
	if resp, _ := e.get("/p/" + token); resp.StatusCode != http.StatusNotFound {
		t.Errorf("old link: status %d, want 404", resp.StatusCode)
	}
	resp, body := e.get(loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Das ist dein neuer Link.") {
		t.Errorf("new link: status %d, no German confirmation", resp.StatusCode)
	}
}

func TestPreferencesDownload(t *testing.T) {
	e := newEnv(t)
	_, token := e.subscribe(anna, "en", "offers")
	e.post("/p/"+token, url.Values{"lang": {"en"}}, "User-Agent", "prefs-agent") // untick offers
	before := e.dump()
	resp := e.post("/p/"+token+"/download", url.Values{"lang": {"en"}})
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != `attachment; filename="optin-data-2026-11-01.json"` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	var got struct {
		Business string `json:"business"`
		Contact  struct {
			Phone string `json:"phone"`
		} `json:"contact"`
		Consents []struct {
			Category string `json:"category"`
			State    string `json:"state"`
		} `json:"consents"`
		Events []struct {
			Type     string `json:"type"`
			Evidence struct {
				Source    string `json:"source"`
				UserAgent string `json:"user_agent"`
			} `json:"evidence"`
		} `json:"events"`
		Wordings []struct {
			Text string `json:"text"`
		} `json:"wordings"`
		Sent []struct {
			Purpose string `json:"purpose"`
		} `json:"messages_sent"`
		Received []string `json:"messages_received"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Business != "Acme" || got.Contact.Phone != anna || len(got.Consents) != 1 || got.Consents[0].State != "opted_out" {
		t.Errorf("export = %+v", got)
	}
	if len(got.Events) != 2 || got.Events[0].Type != "opt_in" || got.Events[1].Evidence.Source != "preference_center" ||
		got.Events[1].Evidence.UserAgent != "prefs-agent" {
		t.Errorf("events = %+v, want the opt-in and the preference center's opt-out with evidence", got.Events)
	}
	if len(got.Wordings) != 1 || got.Wordings[0].Text != "I agree." {
		t.Errorf("wordings = %+v", got.Wordings)
	}
	if len(got.Sent) != 1 || got.Sent[0].Purpose != "welcome" || got.Received == nil {
		t.Errorf("messages sent %+v, received %v", got.Sent, got.Received)
	}
	if e.dump() != before {
		t.Errorf("the download changed the database")
	}
}

func TestPreferencesErase(t *testing.T) {
	e := newEnv(t, func(_ *Config, c *consent.Config) { c.TombstoneKey = []byte("salt") })
	a, token := e.subscribe(anna, "es", "offers")

	// The first POST only asks.
	before := e.dump()
	resp := e.post("/p/"+token+"/erase", url.Values{"lang": {"es"}})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-testid="erase-confirm"`) ||
		!strings.Contains(string(body), `name="confirm" value="yes"`) || !strings.Contains(string(body), "¿Borrar todos tus datos?") {
		t.Errorf("erase step one: status %d, no Spanish confirmation form", resp.StatusCode)
	}
	if e.dump() != before {
		t.Fatalf("asking for confirmation changed the database")
	}

	resp = e.post("/p/"+token+"/erase", url.Values{"lang": {"es"}, "confirm": {"yes"}})
	body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `data-testid="erased"`) ||
		!strings.Contains(string(body), "Tus datos se han borrado") {
		t.Errorf("erase: status %d, no Spanish confirmation", resp.StatusCode)
	}
	if resp, _ := e.get("/api/v1/contacts/"+url.PathEscape(anna), "Authorization", "Bearer "+e.apiKey); resp.StatusCode != http.StatusNotFound {
		t.Errorf("API after erasure: status %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.get("/p/" + token); resp.StatusCode != http.StatusNotFound {
		t.Errorf("link after erasure: status %d, want 404", resp.StatusCode)
	}
	ts, err := e.db.Tombstones(context.Background(), e.svc.PhoneHash(anna))
	if err != nil || len(ts) != 1 || ts[0].Reason != "person" {
		t.Errorf("tombstones = %+v, %v; want one, reason person", ts, err)
	}
	var n int
	e.db.SQL().QueryRow(`SELECT count(*) FROM events WHERE contact_id = ? AND type = 'erased' AND source = 'preference_center'`, a.ID).Scan(&n)
	if n != 1 {
		t.Errorf("%d erasure events from the preference center, want 1", n)
	}
	for _, table := range []string{"contacts", "consents", "outbox", "preference_tokens"} {
		e.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
		if n != 0 {
			t.Errorf("%d rows left in %s", n, table)
		}
	}
}

func TestPreferencesLanguage(t *testing.T) {
	e := newEnv(t)
	_, tokenES := e.subscribe(anna, "es", "offers")
	tests := []struct {
		name, path, accept, want string
	}{
		{"query wins", "/p/" + tokenES + "?lang=de", "pt-BR", "Deine Nachrichten von Acme"},
		{"browser next", "/p/" + tokenES, "pt-BR,pt;q=0.9", "Suas mensagens de Acme"},
		{"contact's language last", "/p/" + tokenES, "fr-FR,fr;q=0.9", "Tus mensajes de Acme"},
		{"no header: contact's language", "/p/" + tokenES, "", "Tus mensajes de Acme"},
		{"browser English", "/p/" + tokenES, "en-GB", "Your messages from Acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if tt.accept != "" {
				header = []string{"Accept-Language", tt.accept}
			}
			_, body := e.get(tt.path, header...)
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q", tt.want)
			}
		})
	}
	_, body := e.get("/p/"+tokenES+"?lang=de", "Accept-Language", "en")
	if !strings.Contains(body, "seit 1. November 2026") || !strings.Contains(body, `lang="de"`) {
		t.Errorf("German page lacks its date or lang attribute")
	}
	resp := e.post("/p/"+tokenES, url.Values{"lang": {"pt"}})
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "lang=pt") {
		t.Errorf("Location = %q, want the form's language kept", loc)
	}
}

func TestPreferencesPendingDoubleOptIn(t *testing.T) {
	e := newEnv(t, func(_ *Config, c *consent.Config) { c.Mode = consent.Double })
	a, token := e.subscribe(anna, "en", "offers")
	_, body := e.get("/p/" + token)
	if stateOf(body, "offers") != "pending" || !strings.Contains(checkbox(body, "offers"), " checked") {
		t.Fatalf("pending offers: state %q, checkbox %s", stateOf(body, "offers"), checkbox(body, "offers"))
	}
	// Leaving it ticked confirms nothing: only the WhatsApp button does.
	e.post("/p/"+token, url.Values{"lang": {"en"}, "category": {"offers"}})
	if got := e.states(a.ID)["offers"]; got != consent.Pending {
		t.Errorf("offers after saving it ticked = %q, want pending", got)
	}
	e.post("/p/"+token, url.Values{"lang": {"en"}})
	if got := e.states(a.ID)["offers"]; got != consent.OptedOut {
		t.Errorf("offers after unticking = %q, want opted_out", got)
	}
}
