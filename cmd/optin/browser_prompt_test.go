package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

// words folds whitespace, so that text read from a page (where line breaks
// may become spaces) compares with stored text.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestBrowserMOChooseOneCategory is a person writing in through an entry
// point offering order updates and offers: the terms prompt names both, they
// tap Choose and pick Order updates. Only that is opted in, and the consent
// receipt and the admin's contact page show exactly what they were shown
// and chose.
func TestBrowserMOChooseOneCategory(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "t", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateEntryPoint(context.Background(), consent.EntryPoint{Code: "SHOP", Name: "Shop window",
		Categories: []string{"order_updates", "offers"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	base := startOptin(t, env)
	const number = "+4915122225555"

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/sandbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="start-form"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="start-number"]`), number),
		chromedp.SetValue(chromedp.CSS(`[data-testid="start-code"]`), "SHOP"),
		chromedp.Click(chromedp.CSS(`[data-testid="start-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-from="business"] [data-testid="button-optin_terms_choose"]`)),
	)
	if err != nil {
		t.Fatalf("the terms prompt never arrived: %v", err)
	}
	prompt := `[data-testid="bubble"][data-from="business"]:has([data-testid="button-optin_terms_choose"])`
	promptText := text(t, ctx, prompt+` [data-testid="bubble-text"]`)
	for _, want := range []string{"Acme Shoes", "Order updates", "Offers (promotional)", "/terms?lang=en"} {
		if !strings.Contains(promptText, want) {
			t.Errorf("prompt %q does not name %q", promptText, want)
		}
	}
	if strings.Contains(promptText, "Recommendations") {
		t.Errorf("prompt %q names a category the entry point does not offer", promptText)
	}
	titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+prompt+` .sb-reply-button')].map(b => b.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(titles, "|") != "Accept all|Choose|Decline" {
		t.Errorf("prompt buttons %q, want Accept all, Choose, Decline", titles)
	}
	footer := text(t, ctx, prompt+` .sb-footer`)

	row := `[data-testid="button-optin_terms_only:order_updates"]`
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="button-optin_terms_choose"]`)),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="button-optin_terms_only:offers"]`)),
	)
	if err != nil {
		t.Fatalf("Choose never showed the list: %v", err)
	}
	showPrompt := chromedp.Evaluate[bool](`(() => { const b = document.querySelector('` + prompt + `'); b.scrollIntoView({block: "start"}); return true })()`)
	if _, err := chromedp.Run(ctx, showPrompt); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "sandbox-prompt")
	list := `[data-testid="bubble"][data-from="business"]:has(` + row + `)`
	listText := text(t, ctx, list+` [data-testid="bubble-text"]`)
	listButton := strings.TrimPrefix(text(t, ctx, list+` [data-testid="list-button"]`), "☰ ")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(row)),
		chromedp.Poll[chromedp.Void](`[...document.querySelectorAll('[data-testid="bubble"][data-from="business"]')].some(b => b.textContent.includes("You can add other messages"))`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)),
	)
	if err != nil {
		t.Fatalf("no confirmation after the pick: %v", err)
	}
	for cat, want := range map[string]string{"order_updates": "opted_in", "offers": "no_consent"} {
		var reason string
		waitFor(t, 10*time.Second, "the API to report "+cat+" "+want, func() bool {
			code, body := apiGet(t, base, key, "/api/v1/check?phone=%2B4915122225555&category="+cat)
			var got struct{ Reason string }
			if code == http.StatusOK && json.Unmarshal([]byte(body), &got) == nil {
				reason = got.Reason
			}
			return reason == want
		})
	}

	// What was shown and chosen, as the ledger keeps it.
	wantWording := words(promptText + "\n" + footer + "\n[Accept all] [Choose] [Decline]\n→ Choose\n\n" +
		listText + "\n[" + listButton + "]" +
		"\n• Order updates — Confirmations, shipping and delivery news about your orders." +
		"\n• Offers — Promotional" +
		"\n→ Order updates")

	// The receipt: through the preference link in the confirmation.
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="bubble"][data-from="business"] a[href*="/p/"]')].pop().href`))
	if err != nil {
		t.Fatalf("no preference link in the confirmation: %v", err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="prefs-receipts"] a`)),
		chromedp.Click(chromedp.CSS(`[data-testid="prefs-receipts"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="receipt-wording-text"]`)),
	)
	if err != nil {
		t.Fatalf("no receipt with the wording: %v", err)
	}
	if got := words(text(t, ctx, `[data-testid="receipt-wording-text"]`)); got != wantWording {
		t.Errorf("receipt wording\n%q\nwant\n%q", got, wantWording)
	}
	screenshot(t, ctx, "receipt-prompt")

	// The admin's contact page.
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/contacts?q=22225555"),
		chromedp.Click(chromedp.CSS(`[data-testid="contact-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="contact-timeline"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="event-wording"]')].map(w => w.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range shown {
		found = found || words(w) == wantWording
	}
	if !found {
		t.Errorf("contact page wordings %q, want %q", shown, wantWording)
	}
	if got := text(t, ctx, `[data-testid="state-order_updates"]`); !strings.Contains(got, "opted_in") && !strings.Contains(strings.ToLower(got), "opted in") {
		t.Errorf("order_updates on the contact page is %q", got)
	}

	// The same chat on a phone.
	phone := newBrowser(t, 390, 844)
	if err := chromedp.Do(phone, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(phone,
		chromedp.Navigate(base+"/sandbox/chats/"+strings.TrimPrefix(number, "+")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if wide, err := chromedp.Run(phone, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)); err != nil || wide {
		t.Errorf("the sandbox chat scrolls sideways at 390 px (%v)", err)
	}
	if _, err := chromedp.Run(phone, showPrompt); err != nil {
		t.Fatal(err)
	}
	screenshot(t, phone, "sandbox-prompt-phone")
}
