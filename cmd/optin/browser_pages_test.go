package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// pageWalkData gives every page something to show: two people opted in
// through the form, one through WhatsApp (still at the terms prompt).
func pageWalkData(t *testing.T, base string) {
	t.Helper()
	for _, f := range []url.Values{
		{"phone": {"+4915123456789"}, "category": {"offers", "order_updates"}, "lang": {"en"}},
		{"phone": {"+4917099887766"}, "category": {"offers"}, "lang": {"de"}},
	} {
		resp, err := http.PostForm(base+"/optin", f)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// href returns the href of the first element matching sel on the page at
// path, or fails.
func href(t *testing.T, ctx context.Context, base, path, sel string) string {
	t.Helper()
	err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s on %s: %v", sel, path, err)
	}
	h, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`).getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func jsString(s string) string {
	b := []byte{'"'}
	for _, r := range s {
		switch r {
		case '"', '\\':
			b = append(b, '\\', byte(r))
		default:
			b = append(b, string(r)...)
		}
	}
	return string(append(b, '"'))
}

// TestBrowserEveryPage visits every public page and every console page at
// 1280 and at 390 px: axe-core finds no violation on any of them, and at
// 390 px none is wider than the screen.
func TestBrowserEveryPage(t *testing.T) {
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	pageWalkData(t, base)
	dashData(t, base, env["OPTIN_DB"])

	for _, size := range []struct {
		name          string
		width, height int
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		t.Run("public/"+size.name, func(t *testing.T) {
			walkPublic(t, auditBrowser(t, size.width, size.height), base, size.width)
		})
		t.Run("console/"+size.name, func(t *testing.T) {
			walkConsole(t, auditBrowser(t, size.width, size.height), base, size.width)
		})
	}
}

// auditBrowser is a browser at width × height (the viewport emulated:
// headless Chromium keeps windows at least 500 px wide) that loads
// axe-core into every page it opens.
func auditBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	ctx := newBrowser(t, width, height)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatal(err)
	}
	if src := axeScript(t); src != "" {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ctx
}

// visit opens path and checks the page: axe-core and the width.
func visit(t *testing.T, ctx context.Context, base, name, path string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+path), chromedp.WaitReady(chromedp.CSS(`body`))); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	checkPage(t, ctx, name+" "+path)
}

// checkPage checks the page on screen: axe-core and the width.
func checkPage(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkAccessible(t, ctx, name)
	checkFits(t, ctx, name)
}

func walkPublic(t *testing.T, ctx context.Context, base string, width int) {
	visit(t, ctx, base, "form", "/optin?lang=en")
	visit(t, ctx, base, "form", "/optin?lang=de")
	visit(t, ctx, base, "form in a frame", "/optin?embed=1&lang=en")
	visit(t, ctx, base, "terms", "/terms?lang=en")
	visit(t, ctx, base, "home", "/")
	visit(t, ctx, base, "not found", "/nothing-here")
	// The form's error state and the thank-you page.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/optin?lang=en"),
		chromedp.Click(chromedp.CSS(`[data-testid="category-order_updates"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), "12"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, "form errors")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.CSS(`[data-testid="phone"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), "+4915123450001"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thanks"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, "thanks")

	// The sandbox, a chat, and the preference center from its link.
	visit(t, ctx, base, "sandbox", "/sandbox")
	visit(t, ctx, base, "sandbox chat", "/sandbox/chats/4915123456789")
	prefs := href(t, ctx, base, "/sandbox/chats/4915123456789", `[data-testid="bubble"] a[href*="/p/"]`)
	if u, err := url.Parse(prefs); err == nil {
		prefs = u.RequestURI()
	}
	visit(t, ctx, base, "preference center", prefs)
	// The welcome's "Manage my choices" button leads there too.
	if manage := href(t, ctx, base, "/sandbox/chats/4915123456789", `[data-testid="button-link"]`); manage != prefs {
		t.Errorf("Manage my choices links to %q, want the preference center %q", manage, prefs)
	}
	// An entry point's link stays in the sandbox, ready to write in.
	err = chromedp.Do(ctx, chromedp.Navigate(base+"/l/HELLO"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="start-linked"]`)))
	if err != nil {
		t.Fatalf("/l/HELLO in sandbox mode: %v", err)
	}
	if got := text(t, ctx, `[data-testid="start-linked"]`); !strings.Contains(got, "START HELLO-") {
		t.Errorf("the sandbox does not show the start text: %q", got)
	}
	checkPage(t, ctx, "sandbox from a link")
	receipt := href(t, ctx, base, prefs, `[data-testid="prefs-receipts"] a`)
	visit(t, ctx, base, "receipt", receipt)
	screenshot(t, ctx, fmt.Sprintf("receipt-%d", width))
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+prefs),
		chromedp.Click(chromedp.CSS(`[data-testid="prefs-erase"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="erase-confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, "erase confirmation")
}

func walkConsole(t *testing.T, ctx context.Context, base string, width int) {
	visit(t, ctx, base, "sign-in", "/admin/login")
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	for _, p := range []string{
		"/admin/", "/admin/contacts", "/admin/events", "/admin/audit", "/admin/settings",
		"/admin/users", "/admin/account", "/admin/api-keys", "/admin/categories",
		"/admin/categories/new", "/admin/wording", "/admin/entry-points", "/admin/entry-points/new",
		"/admin/entry-points/HELLO", "/admin/import",
	} {
		visit(t, ctx, base, "console", p)
		switch p {
		case "/admin/":
			screenshot(t, ctx, fmt.Sprintf("dashboard-%d", width))
		case "/admin/contacts":
			screenshot(t, ctx, fmt.Sprintf("contacts-%d", width))
		}
	}
	contact := href(t, ctx, base, "/admin/contacts?q=6789", `[data-testid="contact-link"]`)
	visit(t, ctx, base, "contact", contact)
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+contact),
		chromedp.Click(chromedp.CSS(`[data-testid="opt-out-offers"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, ctx, "confirmation")
	category := href(t, ctx, base, "/admin/categories", `a[href^="/admin/categories/"]:not([href$="/new"])`)
	visit(t, ctx, base, "category", category)
}
