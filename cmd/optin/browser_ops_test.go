package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
	"github.com/optin/optin/web/i18n"
)

// elementShot saves a PNG of the first element matching sel into
// $OPTIN_SCREENSHOTS or the test's temp dir.
func elementShot(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS(sel), 1))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("OPTIN_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserRegretRate opts 30 people in through the form of a poster's
// entry point and 20 through a newsletter's; 6 of the poster's opt out again
// at once. The dashboard shows the poster's 20 % flagged above the 10 %
// threshold, the entry point's page its rate with the warning.
func TestBrowserRegretRate(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	env["OPTIN_FORM_LIMIT"] = "0"
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	for _, e := range [][]string{{"POSTER", "Shop window poster"}, {"MAIL", "Newsletter"}} {
		if err := run(context.Background(), []string{"entry", "add", e[0], "--name", e[1], "--categories", "offers"},
			func(k string) string { return env[k] }, nil, &strings.Builder{}, &strings.Builder{}); err != nil {
			t.Fatal(err)
		}
	}
	base := startOptin(t, env)
	optIn := func(phone, src string) {
		resp, err := http.PostForm(base+"/optin", url.Values{"phone": {phone}, "category": {"offers"}, "lang": {"en"}, "src": {src}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK { // the thank-you page, after the redirect
			t.Fatalf("opt-in %s: status %d", phone, resp.StatusCode)
		}
	}
	for i := range 30 {
		optIn(fmt.Sprintf("+491512300%04d", i+1), "POSTER")
	}
	for i := range 20 {
		optIn(fmt.Sprintf("+491512400%04d", i+1), "MAIL")
	}
	// Six of the poster's people stop right away, from the preference center.
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := consent.NewService(db, consent.SystemClock{}, i18n.T, consent.Config{})
	for i := range 6 {
		c, err := db.ContactByPhone(context.Background(), fmt.Sprintf("+491512300%04d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.OptOutAll(context.Background(), c.ID, "en", consent.Evidence{IP: "203.0.113.9"}); err != nil {
			t.Fatal(err)
		}
	}

	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="regret"]`))); err != nil {
		t.Fatal(err)
	}
	cell, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="regret-rate-POSTER"]`)))
	if err != nil || !strings.Contains(cell, "20 %") || !strings.Contains(cell, "too high") {
		t.Errorf("POSTER regret = %q, %v; want 20 %% flagged", cell, err)
	}
	cell, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="regret-rate-MAIL"]`)))
	if err != nil || strings.TrimSpace(cell) != "0 %" {
		t.Errorf("MAIL regret = %q, %v; want 0 %%", cell, err)
	}
	elementShot(t, ctx, `[data-testid="regret"]`, "admin-regret-rate")

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="regret-POSTER"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="entry-regret"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	rate, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="entry-regret-rate"]`)))
	if strings.TrimSpace(rate) != "20 %" {
		t.Errorf("entry page rate = %q, want 20 %%", rate)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="entry-regret-alert"]`))); err != nil {
		t.Errorf("entry page shows no warning: %v", err)
	}
	elementShot(t, ctx, `[data-testid="entry-regret"]`, "admin-entry-regret")
}
