package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/optin/optin/consent"
)

// TestResendUnknownMessage: a message in doubt is shown on the contact page
// with a resend button; resending takes a confirmation, viewers cannot, and
// it queues the message again once.
func TestResendUnknownMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if resp := e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("opt-in = %d", resp.StatusCode)
	}
	due, err := e.db.ClaimDue(ctx, e.clock.t, time.Minute, 1)
	if err != nil || len(due) != 1 {
		t.Fatalf("claim = %v, %v", due, err)
	}
	e.db.ReleaseLeases(ctx, e.clock.t) // the process died mid-send
	m := due[0]
	page := fmt.Sprintf("/admin/contacts/%d", m.ContactID)
	resend := fmt.Sprintf("%s/messages/%d/resend", page, m.ID)
	status := func() consent.DeliveryStatus {
		msgs, _ := e.db.Messages(ctx, m.ContactID)
		return msgs[0].Status
	}

	viewer := e.signIn(consent.RoleViewer)
	if _, body := viewer.get(page); !strings.Contains(body, `data-testid="outbox-unknown"`) || strings.Contains(body, `data-testid="resend-`) {
		t.Error("viewer: want the unknown note and no resend button")
	}
	if resp := viewer.post(resend, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusForbidden || status() != consent.StatusUnknown {
		t.Errorf("viewer resend = %d, status %s; want 403 and unknown", resp.StatusCode, status())
	}
	admin := e.signIn(consent.RoleAdmin)
	if _, body := admin.get("/admin/"); !strings.Contains(body, `data-testid="outbox-in-doubt"`) || !strings.Contains(body, `href="`+page+`"`) {
		t.Error("dashboard: no link to the message in doubt")
	}
	if _, body := admin.get(page); !strings.Contains(body, fmt.Sprintf(`data-testid="resend-%d"`, m.ID)) {
		t.Error("admin: no resend button on the contact page")
	}
	if resp := admin.post(resend, nil); resp.StatusCode != http.StatusOK || status() != consent.StatusUnknown {
		t.Errorf("resend without confirm = %d, status %s; want the confirmation page and unknown", resp.StatusCode, status())
	}
	if resp := admin.post(resend, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther || status() != consent.StatusQueued {
		t.Errorf("confirmed resend = %d, status %s; want 303 and queued", resp.StatusCode, status())
	}
	if resp := admin.post(resend, url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second resend = %d, want 404 (no longer unknown)", resp.StatusCode)
	}
}

// TestResendRefusedAfterOptOut: a welcome in doubt is not sent again to a
// person who has opted out of everything since.
func TestResendRefusedAfterOptOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}})
	due, _ := e.db.ClaimDue(ctx, e.clock.t, time.Minute, 1)
	e.db.ReleaseLeases(ctx, e.clock.t)
	admin := e.signIn(consent.RoleAdmin)
	page := fmt.Sprintf("/admin/contacts/%d", due[0].ContactID)
	admin.post(page+"/opt-out", url.Values{"confirm": {"yes"}})
	resp := admin.post(fmt.Sprintf("%s/messages/%d/resend", page, due[0].ID), url.Values{"confirm": {"yes"}})
	msgs, _ := e.db.Messages(ctx, due[0].ContactID)
	if resp.StatusCode != http.StatusUnprocessableEntity || msgs[0].Status != consent.StatusUnknown {
		t.Errorf("resend after opt-out = %d, status %s; want 422 and unknown", resp.StatusCode, msgs[0].Status)
	}
}
