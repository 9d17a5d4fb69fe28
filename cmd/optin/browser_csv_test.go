package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminCSV signs in, downloads the contacts export through the
// page's form, uploads a CSV whose dry run shows the rows with problems,
// then imports it and watches the progress to the end.
func TestBrowserAdminCSV(t *testing.T) {
	ctx := newBrowser(t, 1280, 1000)
	env := sandboxEnv(t)
	addAdmin(t, env, "admin@example.com", "admin", "correct horse battery staple")
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"apikey", "create", "t", "--db", env["OPTIN_DB"]},
		func(string) string { return "" }, nil, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(keyOut.String())
	base := startOptin(t, env)
	resp, err := http.PostForm(base+"/optin", url.Values{"phone": {"+4915112345670"}, "category": {"offers"}, "lang": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	signInBrowser(t, ctx, base, "admin@example.com", "correct horse battery staple")
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/admin/import"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="csv-export"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "admin-csv")
	// The export form's own URL, fetched with the page's session as the
	// download would be.
	export, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const f = document.querySelector('form[action="/admin/export/contacts.csv"]');
		const r = await fetch(f.action + "?" + new URLSearchParams(new FormData(f)), {credentials: "same-origin"});
		return r.headers.get("Content-Disposition") + "\n" + await r.text();
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	disposition, export, _ := strings.Cut(export, "\n")
	if !strings.HasPrefix(disposition, `attachment; filename="optin-contacts-`) {
		t.Errorf("Content-Disposition = %q", disposition)
	}
	if !strings.HasPrefix(export, "number,category,state,date,source,wa_id,status,language,created_at\n") ||
		!strings.Contains(export, "\n+4915112345670,offers,opted_in,") {
		t.Errorf("export through the page =\n%s", export)
	}

	file := filepath.Join(t.TempDir(), "old-optins.csv")
	os.WriteFile(file, []byte("number,category,state,date,source,evidence\n"+
		"+4915112345671,offers,opted_in,2026-05-01,paper form,signed at the shop\n"+
		"+4915112345672,order_updates,opted_in,2026-05-02,newsletter,ticked the box\n"+
		"12345,offers,opted_in,2026-05-01,,\n"+
		"+4915112345673,spam,opted_in,2026-05-01,,\n"+
		"+4915112345674,offers,opted_in,next week,,\n"), 0o600)
	err = chromedp.Do(ctx,
		chromedp.SetUploadFiles(chromedp.ID("import-file"), []string{file}),
		chromedp.Click(chromedp.CSS(`[data-testid="import-check"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-problems"]`)),
	)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	screenshot(t, ctx, "admin-csv-dry-run")
	problems, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="import-problems"] tbody`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4\tnumber", "5\tcategory", "6\tdate"} {
		if !strings.Contains(problems, want) {
			t.Errorf("dry run problems lack %q:\n%s", want, problems)
		}
	}
	summary, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="import-summary"]`)))
	if !strings.Contains(summary, "2 would be recorded") || !strings.Contains(summary, "3 have problems") {
		t.Errorf("summary = %q", summary)
	}
	if code, body := apiGet(t, base, key, "/api/v1/contacts/%2B4915112345671"); code != 404 {
		t.Errorf("after the dry run the contact exists: %d %s", code, body)
	}

	// The progress page may already be reloading itself when the import
	// is this small: wait for its end first, then look at it.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-testid="import-run"]`))); err != nil {
		t.Fatalf("import start: %v", err)
	}
	if err := pollThroughReloads(ctx, `document.querySelector('[data-testid="import-job"]')?.dataset.importStatus === "done"`); err != nil {
		t.Fatalf("import run: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`[data-testid="import-progress"]`))); err != nil {
		t.Fatalf("import progress: %v", err)
	}
	screenshot(t, ctx, "admin-csv-imported")
	counts, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`[data-testid="import-counts"]`)))
	if !strings.Contains(counts, "5 of 5 rows processed") || !strings.Contains(counts, "2 recorded") || !strings.Contains(counts, "3 refused") {
		t.Errorf("counts = %q", counts)
	}
	if code, body := apiGet(t, base, key, "/api/v1/contacts/%2B4915112345671"); code != 200 || !strings.Contains(body, `"source":"import"`) {
		t.Errorf("imported contact: %d %s", code, body)
	}
}

// pollThroughReloads waits until expr is true on a page that reloads itself
// (the import page does when its import ends, static/js/admin-import.js).
// A poll running just then loses its page; Chromium says so in more than one
// way ("navigated or closed", "Cannot find context with specified id"), and
// the poll starts again on the new page.
func pollThroughReloads(ctx context.Context, expr string) error {
	var err error
	for try := 1; try <= 10; try++ {
		err = chromedp.Do(ctx, chromedp.Poll[chromedp.Void](expr))
		if err == nil || ctx.Err() != nil {
			return err
		}
		msg := err.Error()
		if !strings.Contains(msg, "navigated or closed") && !strings.Contains(msg, "Cannot find context") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}
