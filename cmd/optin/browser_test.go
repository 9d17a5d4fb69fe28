package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
		// A person in Germany reading English: the form preselects the
		// country from the browser's language region, and the tests type
		// German numbers.
		chromedp.Flag("accept-lang", "en-DE,en"),
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
// and for people to look at) or the test's temp dir. Every page state worth
// a picture is also checked with axe-core.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	checkAccessible(t, ctx, name)
	// Let bubbles that just came in finish fading in.
	_, _ = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.getAnimations().every(a => a.playState !== "running")`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(2*time.Second)))
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

// startMO starts optin on the sandbox with an API key, and writes in from
// number through the default entry point on the sandbox page, as a person
// who scanned its QR code: the page lands on the chat, where the terms
// prompt arrives. A shot names a screenshot of the filled-in form. It
// returns optin's URL and the API key.
func startMO(t *testing.T, ctx context.Context, number, shot string) (base, key string) {
	t.Helper()
	env := sandboxEnv(t)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "t", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key = strings.TrimSpace(keyOut.String())
	base = startOptin(t, env)

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/sandbox"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="start-form"]`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid="start-number"]`), number),
		chromedp.SetValue(chromedp.CSS(`[data-testid="start-code"]`), "HELLO"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if shot != "" {
		screenshot(t, ctx, shot)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="start-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-sandbox-chat]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if want := base + "/sandbox/chats/" + strings.TrimPrefix(number, "+"); loc != want {
		t.Fatalf("after Write in the page is %s, want %s", loc, want)
	}
	// The person's start text, then the business's prompt with its buttons.
	err = chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-from="person"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-from="business"] [data-testid="button-optin_terms_accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-from="business"] [data-testid="button-optin_terms_decline"]`)),
	)
	if err != nil {
		t.Fatalf("the terms prompt never arrived: %v", err)
	}
	sent, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="bubble"][data-from="person"]`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sent, "START HELLO-") {
		t.Errorf("the person sent %q, want the entry point's start text", sent)
	}
	return base, key
}

// apiGet calls optin's JSON API and returns the status and the body.
func apiGet(t *testing.T, base, key, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// TestBrowserMOAccept is a person writing in through an entry point: the
// terms prompt arrives on their phone, they tap Accept, get the
// confirmation, and the API says they are opted in.
func TestBrowserMOAccept(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	base, key := startMO(t, ctx, "+4915122223333", "mo-start")
	screenshot(t, ctx, "mo-prompt")

	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="button-optin_terms_accept"]`)),
		// A business bubble after the prompt that confirms the subscription.
		chromedp.Poll[chromedp.Void](`(() => {
			const bubbles = [...document.querySelectorAll('[data-testid="bubble"][data-from="business"]')];
			const prompt = bubbles.findIndex(b => b.querySelector('[data-testid="button-optin_terms_accept"]'));
			return prompt >= 0 && bubbles.slice(prompt + 1).some(b => b.textContent.includes("subscribed"));
		})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)),
	)
	if err != nil {
		t.Fatalf("no confirmation after Accept: %v", err)
	}
	var reason string
	waitFor(t, 10*time.Second, "the API to report opted_in", func() bool {
		code, body := apiGet(t, base, key, "/api/v1/check?phone=%2B4915122223333&category=offers")
		var got struct{ Reason string }
		if code == http.StatusOK && json.Unmarshal([]byte(body), &got) == nil {
			reason = got.Reason
		}
		return reason == "opted_in"
	})
	screenshot(t, ctx, "mo-accepted")
}

// TestBrowserMODecline is a person writing in and declining the terms: the
// contact and its messages are erased.
func TestBrowserMODecline(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	const number = "+4915122224444"
	base, key := startMO(t, ctx, number, "")
	path := "/api/v1/contacts/" + number
	if code, body := apiGet(t, base, key, path); code != http.StatusOK || !strings.Contains(body, `"pending_terms"`) {
		t.Fatalf("GET %s before Decline = %d %s, want 200 pending_terms", path, code, body)
	}

	err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="button-optin_terms_decline"]`)),
		// The tap appears as the person's reply to the prompt.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"][data-from="person"] .sb-quote`)),
	)
	if err != nil {
		t.Fatalf("the Decline tap never showed: %v", err)
	}
	waitFor(t, 10*time.Second, fmt.Sprintf("GET %s to answer 404", path), func() bool {
		code, _ := apiGet(t, base, key, path)
		return code == http.StatusNotFound
	})
	screenshot(t, ctx, "mo-declined")
}

// TestBrowserPreferenceCenter follows the link in the welcome message on
// /sandbox to the preference center, opts out of one category, downloads
// the data, erases it, and finds the link dead afterwards.
func TestBrowserPreferenceCenter(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "t", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	base := startOptin(t, env)
	api := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/optin?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="optin-form"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="category-offers"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="category-order_updates"]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="phone"]`), "0151 2345 6780"),
		chromedp.Click(chromedp.CSS(`[data-testid="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="thanks"]`)),
		chromedp.Navigate(base+"/sandbox/chats/4915123456780"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="bubble"] a[href*="/p/"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="bubble"] a[href*="/p/"]').href`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="prefs"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "prefs")
	// The person's receipt of this opt-in is one click away.
	receipt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="prefs-receipts"] a').href`))
	if err != nil {
		t.Fatalf("no receipt listed on the preference page: %v", err)
	}
	resp, err := http.Get(strings.Replace(receipt, "?lang=en", ".json", 1))
	if err != nil {
		t.Fatal(err)
	}
	rjson, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(rjson), `"version":"KI-CR-v1.1.0"`) {
		t.Errorf("receipt JSON = %d %.200s", resp.StatusCode, rjson)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="pref-offers"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="prefs-save"]`)),
		// The page after the save, not the one still on screen while it posts.
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="prefs-done"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "offers to be opted out", func() bool {
		_, body := api("/api/v1/check?phone=%2B4915123456780&category=offers")
		return strings.Contains(body, `"reason":"opted_out"`)
	})
	if _, body := api("/api/v1/check?phone=%2B4915123456780&category=order_updates"); !strings.Contains(body, `"reason":"opted_in"`) {
		t.Errorf("order_updates after unticking offers: %s, want still opted_in", body)
	}
	// Download through the page's own form, as the browser would post it.
	data, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const f = document.querySelector('[data-testid="prefs-download"]').form;
		const r = await fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f))});
		return r.headers.get("Content-Disposition") + "\n" + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(data, "attachment") || !strings.Contains(data, "+4915123456780") || !strings.Contains(data, "opted_out") {
		t.Errorf("download = %.300s…, want an attachment with the number and the opt-out", data)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="prefs-erase"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="erase-confirm"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "prefs-erase-confirm")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="erase-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="erased"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "prefs-erased")
	if code, _ := api("/api/v1/contacts/+4915123456780"); code != 404 {
		t.Errorf("contact API after erasure: %d, want 404", code)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-page"]`)),
	)
	if err != nil {
		t.Fatalf("the old link after erasure: %v (want the 404 page)", err)
	}
}
