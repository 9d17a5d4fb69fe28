package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// addAdmin runs optin admin add against the database in env, with password
// on standard input.
func addAdmin(t *testing.T, env map[string]string, email, role, password string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"admin", "add", email, "--role", role}, func(k string) string { return env[k] },
		strings.NewReader(password+"\n"), &stdout, &stderr)
	if err != nil {
		t.Fatalf("optin admin add: %v (%s)", err, stderr.String())
	}
}

// signInBrowser signs in to the console through its sign-in form and waits
// for the dashboard.
func signInBrowser(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="admin-user"]`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
}

func TestAdminAddCommand(t *testing.T) {
	env := sandboxEnv(t)
	getenv := func(k string) string { return env[k] }
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"admin", "add", "Ops@Example.com", "--role", "viewer"}, getenv, strings.NewReader(""), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); len(got) < 20 {
		t.Errorf("generated password %q is too short or missing", got)
	}
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"admin", "add", "ops@example.com"}, "a long enough password\n", "already exists"},
		{[]string{"admin", "add", "not-an-email"}, "a long enough password\n", "e-mail"},
		{[]string{"admin", "add", "x@example.com", "--role", "root"}, "a long enough password\n", "role"},
		{[]string{"admin", "add", "y@example.com"}, "short\n", "12 characters"},
		{[]string{"admin", "list"}, "", "usage"},
	} {
		err := run(context.Background(), tc.args, getenv, strings.NewReader(tc.stdin), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("optin %v: err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
}

// TestBrowserAdminSignIn signs in as the seeded admin, checks the console's
// frame, signs out, and finds the console closed again.
func TestBrowserAdminSignIn(t *testing.T) {
	ctx := newBrowser(t, 1280, 900)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	base := startOptin(t, env)

	// A wrong password first: the same message as an unknown account.
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.SendKeys(chromedp.ID("email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "wrong password"),
		chromedp.Click(chromedp.CSS(`[data-testid="sign-in"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-error"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-login-error")
	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	screenshot(t, ctx, "admin-home")
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-testid="sign-out"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
		chromedp.Navigate(base+"/admin/"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)),
	)
	if err != nil {
		t.Fatalf("after sign-out the console is still open: %v", err)
	}
}
