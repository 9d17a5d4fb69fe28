package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/whatsapp"
)

// evSender stands in for the provider: it accepts every message and gives it
// a wamid, so that statuses and button replies can refer to what optin sent.
type evSender struct {
	mu   sync.Mutex
	n    int
	sent []consent.SendResult
}

func (s *evSender) Send(_ context.Context, m consent.Message) (consent.SendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	res := consent.SendResult{MessageID: fmt.Sprintf("wamid.OUT.%d", s.n), WaID: strings.TrimPrefix(m.To, "+")}
	s.sent = append(s.sent, res)
	return res, nil
}

// evHarness is one optin over HTTP with a provider that accepts everything,
// an inbox worker and a dispatcher the test runs by hand.
type evHarness struct {
	*env
	t     *testing.T
	inbox *consent.InboxWorker
	out   *consent.Dispatcher
	seq   int
}

func newEvHarness(t *testing.T) *evHarness {
	e := newEnv(t, func(c *Config, _ *consent.Config) { c.FrameOrigins = []string{"https://shop.example"} })
	log := slog.New(slog.DiscardHandler)
	return &evHarness{env: e, t: t,
		inbox: &consent.InboxWorker{Service: e.svc, Store: e.db, Parse: whatsapp.ParseWebhook, Log: log, MaxAttempts: 1},
		out:   &consent.Dispatcher{Store: e.db, Sender: &evSender{}, Clock: e.clock, Log: log, Rate: 1000, BaseDelay: time.Second}}
}

// deliver posts a body to /webhook as the provider does, then processes the
// inbox and sends what optin queued in answer.
func (h *evHarness) deliver(body string) {
	h.t.Helper()
	if code := h.webhook(body, "s3cret"); code != http.StatusOK {
		h.t.Fatalf("webhook: status %d", code)
	}
	ctx := context.Background()
	if _, err := h.inbox.ProcessPending(ctx); err != nil {
		h.t.Fatal(err)
	}
	var failed string
	h.db.SQL().QueryRow(`SELECT coalesce(group_concat(error, '; '), '') FROM inbox WHERE error <> ''`).Scan(&failed)
	if failed != "" {
		h.t.Fatalf("webhook processing failed: %s", failed)
	}
	if _, err := h.out.SendDue(ctx); err != nil {
		h.t.Fatal(err)
	}
}

// text sends a text message from waID and returns its wamid.
func (h *evHarness) text(waID, text string) string {
	h.t.Helper()
	h.seq++
	id := fmt.Sprintf("wamid.IN.%d", h.seq)
	b, _ := json.Marshal(text)
	h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"P"},"wa_id":"%s"}],"messages":[{"from":"%s","id":"%s","timestamp":"%d","type":"text","text":{"body":%s}}]}}]}]}`,
		waID, waID, id, h.clock.t.Unix(), b))
	return id
}

// tap answers the last interactive message sent to waID with a button and
// returns the reply's wamid and the wamid of the message it answered.
func (h *evHarness) tap(waID, button string) (id, replyTo string) {
	h.t.Helper()
	h.seq++
	id = fmt.Sprintf("wamid.BTN.%d", h.seq)
	replyTo = h.lastSent(waID)
	h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","contacts":[{"profile":{"name":"P"},"wa_id":"%s"}],"messages":[{"context":{"from":"4930123456","id":"%s"},"from":"%s","id":"%s","timestamp":"%d","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"%s","title":"Accept"}}}]}}]}]}`,
		waID, replyTo, waID, id, h.clock.t.Unix(), button))
	return id, replyTo
}

// lastSent is the wamid of the last message the provider accepted for waID.
func (h *evHarness) lastSent(waID string) string {
	h.t.Helper()
	s := h.out.Sender.(*evSender)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.sent) - 1; i >= 0; i-- {
		if s.sent[i].WaID == waID {
			return s.sent[i].MessageID
		}
	}
	h.t.Fatalf("nothing was sent to %s", waID)
	return ""
}

// formWordingHash is the hash the opt-in form carries in its hidden field.
func (h *evHarness) formWordingHash(path string) string {
	h.t.Helper()
	_, body := h.get(path)
	m := regexp.MustCompile(`name="wording" value="([0-9a-f]{64})"`).FindStringSubmatch(body)
	if m == nil {
		h.t.Fatalf("%s: no wording hash in the form", path)
	}
	return m[1]
}

// webForm opts phone in through the plain form, as set-up for the sources
// that change an existing consent.
func (h *evHarness) webForm(phone string, cats ...string) consent.Contact {
	h.t.Helper()
	resp := h.post("/optin", url.Values{"phone": {phone}, "category": cats, "lang": {"en"}})
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("set-up opt-in: status %d", resp.StatusCode)
	}
	c, err := h.db.ContactByPhone(context.Background(), phone)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.out.SendDue(context.Background()); err != nil { // the welcome gets its wamid
		h.t.Fatal(err)
	}
	return c
}

// entryStart follows an entry point's short link (or the QR code's) to
// wa.me and returns the start text WhatsApp would prefill.
func (h *evHarness) entryStart(path string) string {
	h.t.Helper()
	resp, _ := h.get(path)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != "wa.me" {
		h.t.Fatalf("%s: %d → %q, want a redirect to wa.me", path, resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("text")
}

// evWant is what the events one case produces must hold: one event per
// category, each with exactly this evidence.
type evWant struct {
	phone      string
	typ        consent.EventType
	categories []string
	state      consent.State
	// wordingKind is the kind of the wording the events reference ("" for
	// none), wordingVersion its version and wordingText, when set, its text.
	wordingKind    string
	wordingVersion int
	wordingText    string
	lang           string
	occurredAt     time.Time // zero: the test clock
	// ev is the evidence, Detail holding only the keys that must be there.
	ev consent.Evidence
}

const (
	evIP = "127.0.0.0/24" // the test client's address, truncated
	evUA = "Mozilla/5.0 (evidence test)"
)

func evidenceCases() []struct {
	name string
	run  func(h *evHarness) evWant
} {
	return []struct {
		name string
		run  func(h *evHarness) evWant
	}{
		{"web_form", func(h *evHarness) evWant {
			hash := h.formWordingHash("/optin?lang=de")
			resp := h.post("/optin", url.Values{"phone": {"+4915110000001"}, "category": {"offers", "order_updates"},
				"lang": {"de"}, "src": {"NEWS"}, "wording": {hash}},
				"User-Agent", evUA, "Referer", "https://acme.example/join?x=1")
			if resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("status %d", resp.StatusCode)
			}
			return evWant{phone: "+4915110000001", typ: consent.EventOptIn, categories: []string{"offers", "order_updates"},
				state: consent.OptedIn, wordingKind: "consent", wordingVersion: 1, lang: "de",
				ev: consent.Evidence{Source: consent.SourceWebForm, IP: evIP, UserAgent: evUA,
					PageURL: "https://acme.example/join?x=1", EntryPoint: "NEWS", FormVersion: formVersion}}
		}},
		{"embed", func(h *evHarness) evWant {
			// A browser showing the form in an iframe on the shop's page: the
			// GET carries the shop's page as Referer (only its origin, under
			// the default referrer policy), the POST from inside the frame
			// carries the frame's own address.
			_, body := h.get("/optin?embed=1&src=SHOP&lang=en", "Referer", "https://shop.example/")
			m := regexp.MustCompile(`action="([^"]+)"`).FindStringSubmatch(body)
			if m == nil {
				h.t.Fatal("embedded form has no action")
			}
			action := strings.ReplaceAll(m[1], "&amp;", "&")
			frame := h.ts.URL + "/optin?embed=1&src=SHOP&lang=en"
			resp := h.post(action, url.Values{"phone": {"+4915110000002"}, "category": {"offers"}, "lang": {"en"},
				"src": {"SHOP"}, "wording": {h.formWordingHash("/optin?embed=1&lang=en")}},
				"User-Agent", evUA, "Referer", frame, "Origin", h.ts.URL)
			if resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("status %d", resp.StatusCode)
			}
			return evWant{phone: "+4915110000002", typ: consent.EventOptIn, categories: []string{"offers"},
				state: consent.OptedIn, wordingKind: "consent", wordingVersion: 1, lang: "en",
				ev: consent.Evidence{Source: consent.SourceEmbed, IP: evIP, UserAgent: evUA, PageURL: frame,
					EmbedOrigin: "https://shop.example", EntryPoint: "SHOP", FormVersion: formVersion}}
		}},
		{"link", func(h *evHarness) evWant {
			return h.entryFlow("4915110000003", "/l/SHOP", consent.SourceLink)
		}},
		{"qr", func(h *evHarness) evWant {
			// The QR code holds the short link marked ?via=qr.
			return h.entryFlow("4915110000004", strings.TrimPrefix(h.srv.qrLink("SHOP"), h.srv.cfg.BaseURL), consent.SourceQR)
		}},
		{"whatsapp_reply", func(h *evHarness) evWant {
			// A forged code: the person still opts in by answering the
			// terms prompt, recorded as a plain reply with the code not valid.
			return h.entryFlow("4915110000005", "", consent.SourceWhatsAppReply)
		}},
		{"keyword", func(h *evHarness) evWant {
			// Keywords only opt out: START asks through the terms prompt,
			// whose answer is a link, qr or whatsapp_reply event.
			h.webForm("+4915110000006", "offers", "order_updates")
			id := h.text("4915110000006", "STOP")
			// Only what the person had changes: no event for a category
			// they never chose.
			return evWant{phone: "+4915110000006", typ: consent.EventOptOut,
				categories: []string{"offers", "order_updates"}, state: consent.OptedOut, lang: "en",
				ev: consent.Evidence{Source: consent.SourceKeyword, MessageID: id, MessageText: "STOP"}}
		}},
		{"preference_center", func(h *evHarness) evWant {
			// The page opts in again only what was opted out (new consent
			// is the opt-in flows' job): untick offers, then tick it again.
			c := h.webForm("+4915110000007", "offers", "order_updates")
			tok := h.token(c.ID)
			h.post("/p/"+tok, url.Values{"lang": {"en"}, "category": {"order_updates"}}, "Origin", h.ts.URL)
			resp := h.post("/p/"+tok, url.Values{"lang": {"en"}, "category": {"order_updates", "offers"}},
				"User-Agent", evUA, "Origin", h.ts.URL, "Referer", h.ts.URL+"/p/"+tok)
			if resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("status %d", resp.StatusCode)
			}
			// The page's address is the key to the page: left out by design.
			// The form's wording (en) is the second consent wording in en.
			return evWant{phone: "+4915110000007", typ: consent.EventOptIn, categories: []string{"offers"},
				state: consent.OptedIn, wordingKind: "consent", wordingVersion: 2, wordingText: prefsWording("en", "Acme"),
				lang: "en", ev: consent.Evidence{Source: consent.SourcePreferenceCenter, IP: evIP, UserAgent: evUA,
					FormVersion: prefsFormVersion, Detail: map[string]string{"action": "save"}}}
		}},
		{"admin", func(h *evHarness) evWant {
			// An admin never opts anyone in: the admin's act is an opt-out.
			c := h.webForm("+4915110000008", "offers", "order_updates")
			admin := h.signIn(consent.RoleAdmin)
			resp := admin.post(contactPath(c)+"/opt-out", url.Values{"category": {"offers"}, "confirm": {"yes"}})
			if resp.StatusCode != http.StatusSeeOther {
				h.t.Fatalf("status %d", resp.StatusCode)
			}
			return evWant{phone: "+4915110000008", typ: consent.EventOptOut, categories: []string{"offers"},
				state: consent.OptedOut, lang: "en", ev: consent.Evidence{Source: consent.SourceAdmin, IP: evIP,
					Actor: "admin:" + admin.user.Email, Detail: map[string]string{"action": "opt_out"}}}
		}},
		{"api", func(h *evHarness) evWant {
			// The business's system reports a consent it collected: the
			// person's address and browser are not optin's to see.
			key := h.writeKey("crm")
			code, out, _ := h.api("POST", "/api/v1/consents", key, `{"phone":"+4915110000009","category":"offers",
				"state":"opted_in","evidence":{"channel":"checkout","wording":"Sim, quero ofertas.","language":"pt"}}`)
			if code != http.StatusCreated {
				h.t.Fatalf("status %d: %s", code, out)
			}
			return evWant{phone: "+4915110000009", typ: consent.EventOptIn, categories: []string{"offers"},
				state: consent.OptedIn, wordingKind: "consent", wordingVersion: 1, wordingText: "Sim, quero ofertas.",
				lang: "pt", ev: consent.Evidence{Source: consent.SourceAPI, Actor: "api:crm",
					Detail: map[string]string{"channel": "checkout", "language": "pt"}}}
		}},
		{"import", func(h *evHarness) evWant {
			admin := h.signIn(consent.RoleAdmin)
			file := "number,category,state,date,source,evidence\n" +
				"+4915110000010,offers,opted_in," + h.clock.t.Format(time.RFC3339) + ",paper form,signed at the shop\n"
			resp, _ := admin.upload("old.csv", []byte(file))
			job := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusSeeOther || !jobPath.MatchString(job) {
				h.t.Fatalf("upload: %d %q", resp.StatusCode, job)
			}
			admin.post(job+"/run", nil)
			if p := waitImport(h.t, admin, job); p["applied"] != 1.0 {
				h.t.Fatalf("import = %v, want 1 applied", p)
			}
			return evWant{phone: "+4915110000010", typ: consent.EventOptIn, categories: []string{"offers"},
				state: consent.OptedIn, lang: "en", ev: consent.Evidence{Source: consent.SourceImport,
					Actor: "admin:" + admin.user.Email, Detail: map[string]string{"original_source": "paper form",
						"description": "signed at the shop", "collected_at": h.clock.t.Format(time.RFC3339)}}}
		}},
		{"provider", func(h *evHarness) evWant {
			// The provider never opts anyone in: it reports that the person
			// stopped marketing inside WhatsApp, here as error 131050 on a
			// message optin sent (the welcome), which names that message.
			c := h.webForm("+4915110000011", "offers", "order_updates", "recommendations")
			msgs, err := h.db.Messages(context.Background(), c.ID)
			if err != nil || len(msgs) == 0 || msgs[0].ProviderID == "" {
				h.t.Fatalf("welcome not sent: %+v %v", msgs, err)
			}
			wamid := msgs[0].ProviderID
			h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[{"id":"%s","recipient_id":"4915110000011","status":"failed","timestamp":"%d","errors":[{"code":131050,"title":"User has stopped marketing messages"}]}]}}]}]}`,
				wamid, h.clock.t.Unix()))
			return evWant{phone: "+4915110000011", typ: consent.EventOptOut, categories: []string{"offers", "recommendations"},
				state: consent.OptedOut, lang: "en", ev: consent.Evidence{Source: consent.SourceProvider, MessageID: wamid,
					Detail: map[string]string{"error": "131050"}}}
		}},
		{"provider/user_preferences", func(h *evHarness) evWant {
			// The same stop as a user_preferences webhook, which names no
			// message: the evidence is WhatsApp's report itself.
			h.webForm("+4915110000012", "offers", "order_updates")
			h.deliver(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"user_preferences","value":{"messaging_product":"whatsapp","user_preferences":[{"wa_id":"4915110000012","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":%d}]}}]}]}`,
				h.clock.t.Unix()))
			return evWant{phone: "+4915110000012", typ: consent.EventOptOut, categories: []string{"offers"},
				state: consent.OptedOut, lang: "en", ev: consent.Evidence{Source: consent.SourceProvider,
					Detail: map[string]string{"user_preferences": "stop"}}}
		}},
	}
}

// entryFlow writes in through the entry point SHOP (offers and
// order_updates) from waID, as a person who followed path does (a forged
// code when path is ""), and accepts the terms.
func (h *evHarness) entryFlow(waID, path string, source consent.Source) evWant {
	h.t.Helper()
	if _, err := h.svc.CreateEntryPoint(context.Background(), "SHOP", "Shop window", []string{"offers", "order_updates"}); err != nil {
		h.t.Fatal(err)
	}
	start, valid := "START SHOP-ZZZZ", "false"
	if path != "" {
		start, valid = h.entryStart(path), "true"
	}
	h.text(waID, start)
	id, prompt := h.tap(waID, consent.ButtonAcceptTerms)
	return evWant{phone: "+" + waID, typ: consent.EventOptIn, categories: []string{"offers", "order_updates"},
		state: consent.OptedIn, wordingKind: "terms", wordingVersion: 1, lang: "en",
		ev: consent.Evidence{Source: source, EntryPoint: "SHOP", MessageID: id, MessageText: "Accept",
			Detail: map[string]string{"entry_code_valid": valid, "button": consent.ButtonAcceptTerms, "replied_to": prompt}}}
}

// TestEvidenceIsCompleteForEverySource drives a consent change through each
// source's public path (the form, the webhook, the console, the API) and
// reads the events back from the store: who, when, what, how and where,
// every field that applies to the source, exactly.
func TestEvidenceIsCompleteForEverySource(t *testing.T) {
	covered := map[consent.Source]bool{}
	for _, tc := range evidenceCases() {
		t.Run(tc.name, func(t *testing.T) {
			h := newEvHarness(t)
			want := tc.run(h)
			checkEvidence(t, h, want)
			covered[want.ev.Source] = true
		})
	}
	// A source added later fails here until a case covers it: every
	// Source constant declared in consent, and every source the console
	// lists.
	all := map[consent.Source]bool{}
	for _, src := range append(declaredSources(t), consent.LogSources()...) {
		all[src] = true
		if !covered[src] {
			t.Errorf("source %q: no case checks its evidence", src)
		}
	}
	for src := range covered {
		if !all[src] {
			t.Errorf("source %q is checked but consent does not declare it", src)
		}
	}
}

// declaredSources reads the Source constants from consent/consent.go.
func declaredSources(t *testing.T) []consent.Source {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../consent/consent.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []consent.Source
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Source" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, consent.Source(s))
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Source constants found in consent/consent.go")
	}
	return out
}

func checkEvidence(t *testing.T, h *evHarness, want evWant) {
	t.Helper()
	ctx := context.Background()
	c, err := h.db.ContactByPhone(ctx, want.phone)
	if err != nil {
		t.Fatalf("contact %s: %v", want.phone, err)
	}
	events, err := h.db.Events(ctx, c.ID) // read back from SQLite
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Evidence.Source != want.ev.Source || e.Type != want.typ {
			continue
		}
		got = append(got, e.Category)
		t.Run(e.Category, func(t *testing.T) {
			if e.ContactID != c.ID || e.ContactID == 0 {
				t.Errorf("ContactID = %d, want %d", e.ContactID, c.ID)
			}
			if e.State != want.state {
				t.Errorf("State = %q, want %q", e.State, want.state)
			}
			at := want.occurredAt
			if at.IsZero() {
				at = h.clock.t
			}
			if !e.OccurredAt.Equal(at) || e.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v in UTC", e.OccurredAt, at)
			}
			if !e.RecordedAt.Equal(h.clock.t) || e.RecordedAt.Location() != time.UTC {
				t.Errorf("RecordedAt = %v, want %v in UTC", e.RecordedAt, h.clock.t)
			}
			if e.Lang != want.lang {
				t.Errorf("Lang = %q, want %q", e.Lang, want.lang)
			}
			checkWording(t, h, e, want)
			ev, wev := e.Evidence, want.ev
			for _, f := range []struct{ name, got, want string }{
				{"IP", ev.IP, wev.IP}, {"UserAgent", ev.UserAgent, wev.UserAgent}, {"PageURL", ev.PageURL, wev.PageURL},
				{"EmbedOrigin", ev.EmbedOrigin, wev.EmbedOrigin}, {"EntryPoint", ev.EntryPoint, wev.EntryPoint},
				{"FormVersion", ev.FormVersion, wev.FormVersion}, {"MessageID", ev.MessageID, wev.MessageID},
				{"MessageText", ev.MessageText, wev.MessageText}, {"Actor", ev.Actor, wev.Actor},
			} {
				if f.got != f.want {
					t.Errorf("Evidence.%s = %q, want %q", f.name, f.got, f.want)
				}
			}
			for k, v := range wev.Detail {
				if ev.Detail[k] != v {
					t.Errorf("Evidence.Detail[%q] = %q, want %q (detail %v)", k, ev.Detail[k], v, ev.Detail)
				}
			}
		})
	}
	slices.Sort(got)
	if !slices.Equal(got, want.categories) {
		t.Errorf("%s %s events for categories %v, want %v", want.ev.Source, want.typ, got, want.categories)
	}
}

// checkWording: the event references a stored wording whose hash is the
// SHA-256 of its text, of the expected kind, language and version.
func checkWording(t *testing.T, h *evHarness, e consent.Event, want evWant) {
	t.Helper()
	if want.wordingKind == "" {
		if e.WordingHash != "" {
			t.Errorf("WordingHash = %q, want none", e.WordingHash)
		}
		return
	}
	w, err := h.db.Wording(context.Background(), e.WordingHash)
	if err != nil {
		t.Fatalf("wording %q: %v", e.WordingHash, err)
	}
	sum := sha256.Sum256([]byte(w.Text))
	if hex.EncodeToString(sum[:]) != e.WordingHash || w.Hash != e.WordingHash {
		t.Errorf("wording hash %q is not the SHA-256 of its text", e.WordingHash)
	}
	if w.Kind != want.wordingKind || w.Lang != want.lang || w.Version != want.wordingVersion || strings.TrimSpace(w.Text) == "" {
		t.Errorf("wording = %s %s v%d %q, want %s %s v%d", w.Kind, w.Lang, w.Version, w.Text,
			want.wordingKind, want.lang, want.wordingVersion)
	}
	if want.wordingText != "" && w.Text != want.wordingText {
		t.Errorf("wording text = %q, want %q", w.Text, want.wordingText)
	}
}

// TestEvidenceIPv6IsTruncatedTo48 submits the web sources from an IPv6
// address: the events keep its /48.
func TestEvidenceIPv6IsTruncatedTo48(t *testing.T) {
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	h := newEvHarness(t)
	v6 := httptest.NewUnstartedServer(h.srv)
	v6.Listener.Close()
	v6.Listener = ln
	v6.Start()
	t.Cleanup(v6.Close)
	h.ts = v6 // every request below comes from ::1
	const ip = "::/48"

	resp := h.post("/optin", url.Values{"phone": {"+4915120000001"}, "category": {"offers"}, "lang": {"en"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form: status %d", resp.StatusCode)
	}
	c := h.webForm("+4915120000002", "offers", "order_updates")
	h.post("/p/"+h.token(c.ID), url.Values{"lang": {"en"}, "category": {"order_updates"}}, "Origin", v6.URL)
	admin := h.signIn(consent.RoleAdmin)
	admin.post(contactPath(c)+"/opt-out", url.Values{"category": {"order_updates"}, "confirm": {"yes"}})

	rows, err := h.db.SQL().Query(`SELECT source, ip FROM events WHERE source IN ('web_form', 'preference_center', 'admin')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		var src, got string
		if err := rows.Scan(&src, &got); err != nil {
			t.Fatal(err)
		}
		seen[src] = true
		if got != ip {
			t.Errorf("%s event: ip = %q, want %q", src, got, ip)
		}
	}
	if len(seen) != 3 {
		t.Errorf("events of %v, want web_form, preference_center and admin", seen)
	}
}
