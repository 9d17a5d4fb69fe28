package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's Chromium. Outside CI a missing browser skips
// the browser tests; in CI (CI set) it fails them.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed; CI must run the browser tests (.ci/run installs Debian's chromium)")
	}
	t.Skip("Chromium not installed: apt-get install chromium to run the browser tests")
	return ""
}

// newBrowser starts a headless Chromium for one test.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshot saves a full-page PNG into $OPTIN_SCREENSHOTS (for the README
// and for people to look at) or the test's temp dir.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
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

func sandboxEnv(t *testing.T) map[string]string {
	return map[string]string{
		"OPTIN_DB":             filepath.Join(t.TempDir(), "optin.db"),
		"OPTIN_BUSINESS_NAME":  "Acme Shoes",
		"OPTIN_DEFAULT_REGION": "DE",
	}
}

// TestBrowserOptInReachesSandbox is the newcomer's first minute: open the
// form, tick offers, type a number, submit, read the thank-you page, and
// find the welcome message on the sandbox phone.
func TestBrowserOptInReachesSandbox(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	base := startOptin(t, sandboxEnv(t))

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/optin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="optin-form"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "optin-form")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="category-offers"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), "0151 2345 6789"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thanks"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	thanks, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="thanks"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(thanks, "Offers") || !strings.Contains(thanks, "6789") {
		t.Errorf("thank-you page says %q, want the category and the end of the number", thanks)
	}
	screenshot(t, ctx, "optin-thanks")

	// The welcome message arrives on the sandbox phone, and is read there.
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/sandbox/chats/4915123456789"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="sandbox-banner"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	bubble, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="bubble"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bubble, "Acme Shoes") || !strings.Contains(bubble, "Offers") {
		t.Errorf("welcome bubble says %q, want the business and the category", bubble)
	}
	// Ticks come back through the real webhook: wait for read.
	err = chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-status="read"]`)))
	if err != nil {
		t.Fatalf("the welcome never showed as read: %v", err)
	}
	screenshot(t, ctx, "sandbox-welcome")
}

// TestBrowserFormErrorsOnPhone checks the error path at phone size: the
// summary, the field message, and that the choice survives.
func TestBrowserFormErrorsOnPhone(t *testing.T) {
	ctx := newBrowser(t, 390, 844)
	base := startOptin(t, sandboxEnv(t))
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/optin?lang=de"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="optin-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="category-order_updates"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), "12"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="error-phone"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if msg == "" {
		t.Errorf("no message under the phone field")
	}
	checked, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="category-order_updates"] input, input[data-testid="category-order_updates"]').checked`))
	if err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Errorf("the ticked category was lost on the error page")
	}
	screenshot(t, ctx, "optin-errors-phone")
}
