package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// optInBrowser submits the public form for phone with the categories
// ticked, and returns the consent wording the form showed.
func optInBrowser(t *testing.T, ctx context.Context, base, phone string, categories ...string) string {
	t.Helper()
	acts := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/optin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="optin-form"]`)),
	}
	for _, c := range categories {
		acts = append(acts, chromedp.Click(chromedp.CSS(`[data-testid="category-`+c+`"]`)))
	}
	acts = append(acts, chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), phone))
	if err := chromedp.Do(ctx, acts...); err != nil {
		t.Fatal(err)
	}
	wording, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="wording"]`)))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thanks"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(wording)
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowserAdminContacts: two people opt in through the form; an admin
// finds one by a few digits of the number, opens the contact, reads the
// timeline with the exact wording the person saw, and opts a category out
// through the confirmation step. Then the same pages at phone width.
func TestBrowserAdminContacts(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)

	wording := optInBrowser(t, ctx, base, "0151 2345 6789", "offers", "order_updates")
	optInBrowser(t, ctx, base, "0170 9988 7766", "offers")
	if wording == "" {
		t.Fatal("the form showed no wording")
	}

	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/contacts"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contacts-table"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="contact-row"]').length`))
	if err != nil || rows != 2 {
		t.Fatalf("list shows %d contacts (%v), want 2", rows, err)
	}
	screenshot(t, ctx, "admin-contacts")

	// A few digits from the middle of the number.
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`[data-testid="contacts-search"]`), "2345"),
		chromedp.Click(chromedp.CSS(`[data-testid="contacts-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contacts-search"][value="2345"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="contact-row"]').length`))
	if got := text(t, ctx, `[data-testid="contact-link"]`); rows != 1 || got != "+4915123456789" {
		t.Fatalf("search 2345: %d rows, first %q; want only +4915123456789", rows, got)
	}
	screenshot(t, ctx, "admin-contacts-search")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="contact-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contact-timeline"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="event-evidence"] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="event-wording"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="contact-phone"]`); got != "+4915123456789" {
		t.Errorf("contact page for %q", got)
	}
	if got := strings.TrimSpace(text(t, ctx, `[data-testid="event-wording"]`)); got != wording {
		t.Errorf("timeline wording %q, want what the form showed: %q", got, wording)
	}
	if got := text(t, ctx, `[data-testid="state-offers"]`); got != "Opted in" {
		t.Errorf("offers is %q before the opt-out", got)
	}
	screenshot(t, ctx, "admin-contact")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="opt-out-offers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="confirm"] h1`); !strings.Contains(got, "Offers") {
		t.Errorf("confirmation asks %q", got)
	}
	screenshot(t, ctx, "admin-contact-confirm")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, `[data-testid="state-offers"]`); got != "Opted out" {
		t.Errorf("offers is %q after the confirmed opt-out, want opted_out", got)
	}
	if got := text(t, ctx, `[data-testid="state-order_updates"]`); got != "Opted in" {
		t.Errorf("order_updates is %q, want untouched", got)
	}
	if got := text(t, ctx, `[data-testid="timeline-event"]`); !strings.Contains(got, "Opt-out") || !strings.Contains(got, "Console") {
		t.Errorf("newest timeline event %q, want the admin's opt-out", got)
	}
	screenshot(t, ctx, "admin-contact-opted-out")

	// Phone width: the same pages must be usable at 390 px.
	phone := newBrowser(t, 390, 844)
	// Headless Chromium keeps windows at least 500 px wide: emulate the
	// phone's viewport itself.
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	signInBrowser(t, phone, base, "admin@example.com", "correct horse battery staple")
	err = chromedp.Do(phone,
		chromedp.Navigate(base+"/admin/contacts?q=2345"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contacts-table"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if wide, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || wide {
		t.Errorf("the contact list scrolls sideways at 390 px (%v)", err)
	}
	screenshot(t, phone, "admin-contacts-phone")
	err = chromedp.Do(phone,
		chromedp.Click(chromedp.CSS(`[data-testid="contact-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contact-timeline"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="event-evidence"] summary`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil || wide {
		t.Errorf("the contact page scrolls sideways at 390 px (%v)", err)
	}
	screenshot(t, phone, "admin-contact-phone")
}
