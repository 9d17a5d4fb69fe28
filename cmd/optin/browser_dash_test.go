package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// dashData opts a few numbers in through the form (the sandbox delivers
// their welcomes), one of them not on WhatsApp, and records a provider
// alert, as the dispatcher would.
func dashData(t *testing.T, base, dbPath string) {
	t.Helper()
	for i, cats := range [][]string{{"offers", "order_updates"}, {"offers"}, {"order_updates", "recommendations"}, {"offers"}} {
		phone := fmt.Sprintf("+4915123456%03d", 780+i)
		if i == 3 {
			phone = "+4915123450000" // not on WhatsApp in the sandbox
		}
		resp, err := http.PostForm(base+"/optin", url.Values{"phone": {phone}, "category": cats, "lang": {"en"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("opt-in %d: status %d", i, resp.StatusCode)
		}
	}
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.AddAlert(context.Background(), consent.Alert{Kind: "template", Code: 132001,
		Title: "Template name does not exist in the translation", At: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserDashboard signs in, reads the dashboard, verifies the ledger
// from it, resolves the alert, follows a source to the filtered event log,
// and looks at it all at phone width too.
func TestBrowserDashboard(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	dashData(t, base, env["OPTIN_DB"])
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")

	err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="alerts"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	total, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="contacts-total"]`)))
	if err != nil || strings.TrimSpace(total) != "4" {
		t.Errorf("contacts total = %q, %v; want 4", total, err)
	}

	// Verify the ledger: the card shows the result once the run is done.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="verify-ledger"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="ledger-ok"]') !== null`))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if i == 50 {
			t.Fatal("the ledger card never showed the verification")
		}
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="ledger"]`))); err != nil {
			t.Fatal(err)
		}
	}
	screenshot(t, ctx, "admin-dashboard")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="resolve-alert"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-testid="alerts"]`)),
	)
	if err != nil {
		t.Fatalf("the resolved alert stays on the dashboard: %v", err)
	}
	flash, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="flash"]`)))
	if !strings.Contains(flash, "resolved") {
		t.Errorf("flash = %q after resolving", flash)
	}

	// A source leads to the event log, filtered by it.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="source-web_form"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="events"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="events"] tbody tr').length`))
	if err != nil || rows != 6 {
		t.Errorf("%d web_form events listed, %v; want 6", rows, err)
	}
	screenshot(t, ctx, "admin-events")

	// Each event leads to its contact's page.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="events"] tbody tr:first-child [data-testid="event-contact"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contact-phone"]`)),
	)
	if err != nil {
		t.Fatalf("event → contact page: %v", err)
	}
	if got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="contact-phone"]`))); !strings.HasPrefix(strings.TrimSpace(got), "+49151234") {
		t.Errorf("contact page of the newest web_form event shows %q", got)
	}

	// The audit log has the sign-in, the verification and the resolution.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/audit"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="audit"]`)))
	for _, want := range []string{"sign_in", "ledger_verify", "alert_resolve"} {
		if !strings.Contains(text, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}

	// At phone width: nothing wider than the screen but the tables, which scroll.
	phone := newBrowser(t, 390, 844)
	// Headless windows have a minimum width; the viewport is the phone's.
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, phone, base, "admin@example.com", "correct horse battery staple")
	err = chromedp.Do(phone, chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart"]`)))
	if err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil || wide {
		t.Errorf("the dashboard is wider than a 390 px screen (%v)", err)
	}
	screenshot(t, phone, "admin-dashboard-phone")

	// Dark mode: the chart's colours and text follow the theme.
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/admin/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart"]`))); err != nil {
		t.Fatal(err)
	}
	fill, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.chart__in')).fill`))
	if err != nil || fill != "rgb(74, 222, 148)" {
		t.Errorf("opt-in bars in dark mode are %q (%v), want the dark accent", fill, err)
	}
	screenshot(t, ctx, "admin-dashboard-dark")
}
