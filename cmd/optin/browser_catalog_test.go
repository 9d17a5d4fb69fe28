package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminEntryKit creates an entry point through the console and
// finds its kit: the links, the QR code drawn, the snippets to paste.
func TestBrowserAdminEntryKit(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	env["OPTIN_FRAME_ORIGINS"] = "https://shop.example"
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")

	// A code with a 0 is refused with the field marked; then a good one.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/entry-points"),
		chromedp.Click(chromedp.CSS(`[data-testid="entry-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="entry-form"]`)),
		chromedp.SendKeys(chromedp.ID("code"), "SPRING0"),
		chromedp.SendKeys(chromedp.ID("name"), "Spring posters, Berlin"),
		chromedp.Click(chromedp.ID("cat-offers")),
		chromedp.Click(chromedp.CSS(`[data-testid="entry-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-code"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), "SPRING"),
		chromedp.Click(chromedp.CSS(`[data-testid="entry-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="entry-funnel"]`)),
		chromedp.Poll[chromedp.Void](`document.querySelector('[data-testid="kit-qr-preview"]').naturalWidth > 0`),
	)
	if err != nil {
		t.Fatalf("create and open the kit: %v", err)
	}
	screenshot(t, ctx, "admin-entry-kit")

	short, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="kit-short-link"]`)))
	if err != nil || short != base+"/l/SPRING" {
		t.Errorf("short link = %q (%v), want %s/l/SPRING", short, err, base)
	}
	wame, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="kit-wame-link"]`)))
	if !strings.HasPrefix(wame, "https://wa.me/") || !strings.Contains(wame, "?text=START%20SPRING-") {
		t.Errorf("wa.me link = %q", wame)
	}
	email, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="kit-email-html"]`)))
	if !strings.Contains(email, `href="`+base+`/l/SPRING"`) || !strings.Contains(email, "Chat with us on WhatsApp") {
		t.Errorf("e-mail HTML = %q", email)
	}
	iframe, _ := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`[data-testid="kit-iframe-html"]`)))
	if !strings.Contains(iframe, `src="`+base+`/optin?embed=1&amp;src=SPRING"`) {
		t.Errorf("iframe HTML = %q", iframe)
	}
	// Focusing a snippet selects all of it, ready to copy (admin-kit.js).
	selected, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(() => {
		const f = document.querySelector('[data-testid="kit-email-html"]'); f.focus();
		return f.selectionEnd - f.selectionStart; })()`))
	if err != nil || selected != len([]rune(email)) {
		t.Errorf("focused snippet selects %d of %d characters (%v)", selected, len([]rune(email)), err)
	}
}

// TestBrowserAdminWordingAndCategory edits the English consent wording and
// adds a category, then finds both on the public form.
func TestBrowserAdminWordingAndCategory(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/wording"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="wording-form-en"]`)),
		chromedp.Clear(chromedp.ID("text-en")),
		chromedp.SendKeys(chromedp.ID("text-en"), "I agree that Acme Shoes may message me on WhatsApp. Version two."),
		chromedp.Click(chromedp.CSS(`[data-testid="wording-save-en"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatalf("edit the wording: %v", err)
	}
	current, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="wording-current-en"]`)))
	if !strings.Contains(current, "Version two.") {
		t.Errorf("current English wording = %q", current)
	}
	screenshot(t, ctx, "admin-wording")

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/categories/new"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="category-form"]`)),
		chromedp.SendKeys(chromedp.ID("slug"), "Events"),
		chromedp.SendKeys(chromedp.ID("name-en"), "Events"),
		chromedp.SendKeys(chromedp.ID("name-de"), "Veranstaltungen"),
		chromedp.Click(chromedp.CSS(`[data-testid="category-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-slug"]`)),
	)
	if err != nil {
		t.Fatalf("a bad slug: %v", err)
	}
	screenshot(t, ctx, "admin-category-error")
	err = chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("slug")),
		chromedp.SendKeys(chromedp.ID("slug"), "events"),
		chromedp.Click(chromedp.CSS(`[data-testid="category-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="category-events"]`)),
	)
	if err != nil {
		t.Fatalf("add a category: %v", err)
	}
	screenshot(t, ctx, "admin-categories")

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/optin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="optin-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	wording, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="wording"]`)))
	if !strings.Contains(wording, "Version two.") {
		t.Errorf("form wording = %q", wording)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('input[name="category"][value="events"]').length`)); n != 1 {
		t.Errorf("the form offers events %d times, want once", n)
	}
}
