package web

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestViewerSeesNoWholeNumber walks the pages a viewer can open for a
// contact whose number changed (the provider's system message names both
// numbers) and checks that no whole number, nor the wamid that encodes
// one, is in any of them, while an admin sees the number.
func TestViewerSeesNoWholeNumber(t *testing.T) {
	t.Parallel()
	h := newEvHarness(t)
	const oldNum, newNum = "4915112345678", "4917612345678"
	c := h.webForm("+"+oldNum, "offers")
	body, err := os.ReadFile("../testdata/webhooks/cloud_system_changed_number.json")
	if err != nil {
		t.Fatal(err)
	}
	h.deliver(string(body))
	if _, err := h.db.ContactByPhone(t.Context(), "+"+newNum); err != nil {
		t.Fatalf("number change not applied: %v", err)
	}
	page := "/admin/contacts/" + strconv.FormatInt(c.ID, 10)
	admin := h.signIn(consent.RoleAdmin)
	if _, b := admin.get(page); !strings.Contains(b, newNum) || !strings.Contains(b, oldNum) {
		t.Fatal("admin: the contact page does not show the numbers: the test would prove nothing")
	}
	viewer := h.signIn(consent.RoleViewer)
	for _, p := range []string{page, "/admin/contacts", "/admin/contacts?sort=changed", "/admin/events", "/admin/",
		"/admin/audit", "/admin/contacts?q=%2B49+176+1234+5678"} { // the search box keeps what the viewer typed, in its spelling
		resp, b := viewer.get(p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("viewer GET %s = %d", p, resp.StatusCode)
		}
		for _, leak := range []string{oldNum, newNum, "4915 1123 45678", "HBgNNDkxNTExMjM0NTY3OB"} {
			if strings.Contains(b, leak) {
				t.Errorf("viewer GET %s shows %q", p, leak)
			}
		}
	}
	for _, p := range []string{"/admin/export/contacts.csv", "/admin/export/events.csv"} {
		if resp, _ := viewer.get(p); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer GET %s = %d, want 403", p, resp.StatusCode)
		}
	}
	if resp, _ := viewer.get("/admin/contacts?sort=phone"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("viewer sorting by number = %d, want 422 (its page links carry numbers)", resp.StatusCode)
	}
}

// TestViewerSearchWholeNumberOnly: a viewer finds a contact by its whole
// number in any spelling, but some of its digits find nothing and say why,
// so the digit-by-digit reconstruction of the hardening probe (29 searches
// rebuilt +4915100000001 from which searches found something) fails.
func TestViewerSearchWholeNumberOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	target := "+4915100000001"
	e.subscribe(target, "en", "offers")
	e.subscribe("+4915100000002", "en", "offers")
	viewer := e.signIn(consent.RoleViewer)
	found := func(q string) (int, bool) {
		resp, b := viewer.get("/admin/contacts?q=" + url.QueryEscape(q))
		return resp.StatusCode, strings.Contains(b, `data-testid="contact-link"`)
	}
	for _, q := range []string{target, "+49 151 00000001", "0049 151 00000001", "015100000001", "(0151) 000-00001"} {
		if code, ok := found(q); code != http.StatusOK || !ok {
			t.Errorf("viewer search %q = %d, found %v; want the contact", q, code, ok)
		}
	}
	for _, q := range []string{"0000001", "49151", "4915100000", "151000000"} {
		code, ok := found(q)
		if ok {
			t.Errorf("viewer search %q found a contact, want none for part of a number", q)
		}
		if code != http.StatusUnprocessableEntity && code != http.StatusOK {
			t.Errorf("viewer search %q = %d", q, code)
		}
	}
	// The probe's attack: grow a prefix digit by digit, keeping the digit
	// whose search finds something.
	prefix := "+"
	for searches := 0; searches < 40 && len(prefix) < len(target); {
		grew := false
		for d := 0; d <= 9; d++ {
			searches++
			if _, ok := found(prefix + strconv.Itoa(d)); ok {
				prefix += strconv.Itoa(d)
				grew = true
				break
			}
		}
		if !grew {
			break
		}
	}
	if prefix == target {
		t.Errorf("a viewer rebuilt %s digit by digit", target)
	}
	// An admin still searches by some digits.
	admin := e.signIn(consent.RoleAdmin)
	if _, b := admin.get("/admin/contacts?q=0000001"); !strings.Contains(b, fmt.Sprintf(`>%s<`, target)) {
		t.Error("admin search by some digits no longer finds the contact")
	}
}
