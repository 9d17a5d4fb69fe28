package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/store"
)

func TestConfigSettingsFromEnvironment(t *testing.T) {
	env := map[string]string{"OPTIN_DAILY_CAP": "250", "OPTIN_JURISDICTION": "EU", "OPTIN_CONTROLLER_COUNTRY": "de",
		"OPTIN_CONTROLLER_EMAIL": "privacy@acme.example", "OPTIN_CONTROLLER_CONTACT": "DPO", "OPTIN_CONTROLLER_ADDRESS": "Hauptstr. 1"}
	c, err := loadConfig(nil, func(k string) string { return env[k] }, newFlagSet())
	if err != nil {
		t.Fatal(err)
	}
	if c.DailyCap != 250 || c.Jurisdiction != "EU" || c.ControllerCountry != "DE" || c.ControllerEmail != "privacy@acme.example" ||
		c.ControllerContact != "DPO" || c.ControllerAddress != "Hauptstr. 1" {
		t.Errorf("config = %+v", c)
	}
	bad := map[string]string{"OPTIN_DAILY_CAP": "-1", "OPTIN_CONTROLLER_COUNTRY": "Germany", "OPTIN_CONTROLLER_EMAIL": "nope"}
	_, err = loadConfig(nil, func(k string) string { return bad[k] }, newFlagSet())
	for _, want := range []string{"OPTIN_DAILY_CAP", "OPTIN_CONTROLLER_COUNTRY", "OPTIN_CONTROLLER_EMAIL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}

// TestServeUsesSavedSettings: values saved by an admin beat the environment
// after a restart.
func TestServeUsesSavedSettings(t *testing.T) {
	env := sandboxEnv(t)
	db, err := store.Open(context.Background(), env["OPTIN_DB"])
	if err != nil {
		t.Fatal(err)
	}
	err = db.SaveSettings(context.Background(), []consent.SettingChange{
		{Key: consent.SettingTermsText + ".en", Old: "", New: "Saved terms of {business}.", At: time.Now(), Actor: "a@example.com"}})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	base := startOptin(t, env)
	resp, err := http.Get(base + "/terms?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Saved terms of Acme Shoes.") {
		t.Errorf("/terms does not show the saved terms")
	}
}

// TestBrowserAdminSettingsAndKeys: an admin changes the terms, is told
// about a bad template name, creates an API key that is shown once and
// revokes it after confirming.
func TestBrowserAdminSettingsAndKeys(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-form"]`)),
		chromedp.SetValue(chromedp.ID("s-welcome_template"), "Spring-Welcome"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name="terms_text.en"]`), "Our terms, as {business} writes them."),
		chromedp.Click(chromedp.CSS(`[data-testid="settings-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-invalid"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#e-welcome_template`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "lower-case") {
		t.Errorf("error = %q", errText)
	}
	screenshot(t, ctx, "admin-settings-invalid")
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("s-welcome_template"), "spring_welcome"),
		chromedp.Click(chromedp.CSS(`[data-testid="settings-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-history-row"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-settings")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/terms?lang=en")); err != nil {
		t.Fatal(err)
	}
	terms, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(terms, "Our terms, as Acme Shoes writes them.") {
		t.Errorf("terms page = %q", terms)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/api-keys"),
		chromedp.SendKeys(chromedp.ID("key-name"), "CRM"),
		chromedp.SetValue(chromedp.ID("key-scope"), "write"),
		chromedp.Click(chromedp.CSS(`[data-testid="key-create"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="key-secret"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	key, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="key-secret"]`)))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-api-key-created")
	check := func() int {
		req, _ := http.NewRequest("GET", base+"/api/v1/check?phone=%2B4915112345678&category=offers", nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(key))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := check(); got != http.StatusOK {
		t.Fatalf("API with the new key = %d", got)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="key-revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := check(); got != http.StatusUnauthorized {
		t.Errorf("API with the revoked key = %d, want 401", got)
	}
	if dir := os.Getenv("OPTIN_SCREENSHOTS"); dir != "" {
		t.Logf("screenshots in %s", filepath.Clean(dir))
	}
}

// TestBrowserAdminUsers: an admin adds a user (the password is shown once),
// revokes them after confirming, and changes their own password, staying
// signed in.
func TestBrowserAdminUsers(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")

	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/users"),
		chromedp.SendKeys(chromedp.ID("user-email"), "ops@example.com"),
		chromedp.Click(chromedp.CSS(`[data-testid="user-add"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-password"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="user-password"]`)))
	if err != nil || len(strings.TrimSpace(pw)) < 20 {
		t.Fatalf("password shown = %q, %v", pw, err)
	}
	screenshot(t, ctx, "admin-user-created")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr[data-testid="user-row"]:nth-child(2) [data-testid="user-revoke"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="confirm"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="confirm-yes"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	table, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="users-table"]`)))
	if !strings.Contains(table, "revoked") {
		t.Errorf("users table = %q, want ops@example.com revoked", table)
	}
	screenshot(t, ctx, "admin-users")

	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/account"),
		chromedp.SendKeys(chromedp.ID("pw-current"), "correct horse battery staple"),
		chromedp.SendKeys(chromedp.ID("pw-password"), "a new and long password"),
		chromedp.SendKeys(chromedp.ID("pw-password2"), "a new and long password"),
		chromedp.Click(chromedp.CSS(`[data-testid="account-save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="flash"]`)),
		chromedp.Navigate(base+"/admin/settings"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="settings-form"]`)),
	)
	if err != nil {
		t.Fatalf("after the password change the browser is not signed in: %v", err)
	}
}
