package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/web/whatsapp"
)

// TestRegretRateOnDashboardAndEntryPage opts 25 people in through an entry
// point; 5 of them opt out (preference center, STOP, erasure) within 24 h,
// one more after 24 h, one by an admin. The rate is 5 of 25 = 20 %, above the
// default 10 %: the dashboard and the entry point's page show it and the
// check raises one alert, once.
func TestRegretRateOnDashboardAndEntryPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CreateEntryPoint(ctx, "POSTER", "Shop window poster", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateEntryPoint(ctx, "MAIL", "Newsletter", []string{"offers"}); err != nil {
		t.Fatal(err)
	}
	optIn := func(phone, code string) consent.Contact {
		t.Helper()
		out, err := e.svc.OptIn(ctx, consent.OptInRequest{Phone: phone, Categories: []string{"offers"}, Lang: "en",
			Wording: contactWording, Evidence: consent.Evidence{Source: consent.SourceWebForm, IP: "203.0.113.9", EntryPoint: code}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Contact
	}
	var people []consent.Contact
	for i := range 25 {
		people = append(people, optIn("+49151200000"+twoDigits(i), "POSTER"))
	}
	optIn("+4915130000001", "MAIL")

	e.clock.t = e.clock.t.Add(2 * time.Hour)
	for _, c := range people[:3] {
		if _, err := e.svc.OptOutAll(ctx, c.ID, "en", consent.Evidence{IP: "203.0.113.9"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Handle(ctx, consent.Inbound{Messages: []consent.InboundMessage{{ID: "wamid.stop1",
		From: strings.TrimPrefix(people[3].Phone, "+"), Timestamp: e.clock.t, Type: consent.InText, Text: "STOP"}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.EraseByPerson(ctx, people[4].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AdminOptOut(ctx, people[5].ID, "", consent.AdminAct{Email: "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	e.clock.t = e.clock.t.Add(23 * time.Hour) // 25 h after the opt-ins
	if _, err := e.svc.OptOutAll(ctx, people[6].ID, "en", consent.Evidence{}); err != nil {
		t.Fatal(err)
	}

	rates, err := e.svc.RegretRates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := rates["POSTER"]; got.OptIns != 25 || got.Regrets != 5 {
		t.Fatalf("POSTER = %d of %d, want 5 of 25", got.Regrets, got.OptIns)
	}

	admin := e.signIn(consent.RoleAdmin)
	resp, body := admin.get("/admin/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard: status %d", resp.StatusCode)
	}
	row := between(body, `data-testid="regret-rate-POSTER"`, "</td>")
	if !strings.Contains(row, "20 %") || !strings.Contains(row, "too high") {
		t.Errorf("dashboard POSTER regret cell = %q, want 20 %% flagged", row)
	}
	if row := between(body, `data-testid="regret-rate-MAIL"`, "</td>"); !strings.Contains(row, "0 %") || strings.Contains(row, "too high") {
		t.Errorf("dashboard MAIL regret cell = %q, want 0 %%", row)
	}
	_, page := admin.get("/admin/entry-points/POSTER")
	if got := between(page, `data-testid="entry-regret-rate"`, "</p>"); !strings.Contains(got, "20 %") ||
		!strings.Contains(page, `data-testid="entry-regret-alert"`) {
		t.Errorf("entry page regret = %q, alert shown %v", got, strings.Contains(page, "entry-regret-alert"))
	}

	n, err := e.svc.CheckRegret(ctx)
	if err != nil || n != 1 {
		t.Fatalf("CheckRegret = %d, %v; want 1 alert", n, err)
	}
	if n, err := e.svc.CheckRegret(ctx); err != nil || n != 0 {
		t.Errorf("second CheckRegret = %d, %v; want none while the first is open", n, err)
	}
	_, body = admin.get("/admin/")
	if !strings.Contains(body, "Entry point with a high regret rate") || !strings.Contains(body, "Entry point POSTER (Shop window poster): 5 of 25 people (20 %)") {
		t.Errorf("dashboard does not list the regret alert")
	}
}

func twoDigits(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// between returns the text after the first start up to the next end.
func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	in, _, _ := strings.Cut(after, end)
	return in
}

// TestQualityOnDashboard posts Meta's quality webhooks to /webhook: the
// dashboard shows the tier, the cap it sets, then the flag with the pause
// and its alert.
func TestQualityOnDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	inbox := consent.NewInboxWorker(e.svc, e.db, whatsapp.ParseWebhook, slog.New(slog.DiscardHandler))
	deliver := func(event, limit string) {
		t.Helper()
		body := `{"object":"whatsapp_business_account","entry":[{"id":"1","time":1761991200,"changes":[{"field":"phone_number_quality_update",
			"value":{"display_phone_number":"15550783881","event":"` + event + `","current_limit":"` + limit + `"}}]}]}`
		if got := e.webhook(body, "s3cret"); got != http.StatusOK {
			t.Fatalf("webhook %s: status %d", event, got)
		}
		if _, err := inbox.ProcessPending(ctx); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.signIn(consent.RoleAdmin)
	_, body := admin.get("/admin/")
	if got := between(body, `data-testid="quality"`, "</section>"); !strings.Contains(got, "has not reported") {
		t.Errorf("quality card before any update: %q", got)
	}

	deliver("DOWNGRADE", "TIER_250")
	_, body = admin.get("/admin/")
	card := between(body, `data-testid="quality"`, "</section>")
	if !strings.Contains(card, "250 people a day (TIER_250)") || !strings.Contains(card, "250 templates a UTC day (the messaging limit tier)") {
		t.Errorf("quality card after DOWNGRADE:\n%s", card)
	}
	if strings.Contains(card, "quality-paused") {
		t.Errorf("paused after a downgrade")
	}

	deliver("FLAGGED", "")
	_, body = admin.get("/admin/")
	card = between(body, `data-testid="quality"`, "</section>")
	if !strings.Contains(card, `data-testid="quality-rating">FLAGGED`) || !strings.Contains(card, `data-testid="quality-paused"`) {
		t.Errorf("quality card after FLAGGED:\n%s", card)
	}
	if !strings.Contains(body, "WhatsApp flagged the number (quality dropping)") {
		t.Errorf("no alert for the flag on the dashboard")
	}
}
