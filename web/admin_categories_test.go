package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// catalogRows counts what a catalog change touches, to check that refused
// changes change nothing.
func (e *env) catalogRows() map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, q := range []string{
		`SELECT count(*) FROM categories`,
		`SELECT count(*) FROM category_texts`,
		`SELECT count(*) FROM wordings`,
		`SELECT count(*) FROM form_wordings`,
		`SELECT count(*) FROM entry_points`,
		`SELECT count(*) FROM admin_audit WHERE action NOT IN ('sign_in', 'sign_out')`,
		`SELECT group_concat(slug || marketing || position, ',') FROM categories`,
		`SELECT group_concat(name || description, ',') FROM category_texts`,
		`SELECT group_concat(name || categories, ',') FROM entry_points`,
	} {
		var n any
		if err := e.db.SQL().QueryRow(q).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		b, _ := json.Marshal(n)
		out[q] = string(b)
	}
	return out
}

func readBody(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

// lastAudit is the newest audit entry.
func (e *env) lastAudit() (actor, action, target, detail string) {
	e.t.Helper()
	err := e.db.SQL().QueryRow(`SELECT actor, action, target, detail FROM admin_audit ORDER BY id DESC LIMIT 1`).
		Scan(&actor, &action, &target, &detail)
	if err != nil {
		e.t.Fatal(err)
	}
	return
}

func categoryForm(slug, name string) url.Values {
	return url.Values{"slug": {slug}, "position": {""}, "name.en": {name}, "description.en": {name + " news"},
		"name.de": {name + " (de)"}, "description.de": {""}, "name.es": {""}, "name.pt": {""}}
}

func TestAdminCategoryCreateEditDelete(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	ctx := context.Background()
	e.svc.Categories(ctx, "de") // fill the service's cache

	resp, body := c.get("/admin/categories/new")
	if resp.StatusCode != 200 || !strings.Contains(body, `data-testid="category-form"`) {
		t.Fatalf("new form: status %d", resp.StatusCode)
	}
	resp = c.post("/admin/categories", categoryForm("events", "Events"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/categories?done=created" {
		t.Fatalf("create: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if actor, action, target, _ := e.lastAudit(); actor != c.user.Email || action != "category_create" || target != "category:events" {
		t.Errorf("audit = %s %s %s", actor, action, target)
	}
	_, body = c.get("/admin/categories?done=created")
	if !strings.Contains(body, `data-testid="category-events"`) || !strings.Contains(body, `data-testid="flash"`) {
		t.Errorf("list lacks the new category or the confirmation")
	}
	// The public form offers it at once: the service's cache was dropped.
	if _, body := e.get("/optin?lang=de"); !strings.Contains(body, `value="events"`) || !strings.Contains(body, "Events (de)") {
		t.Errorf("the form does not offer the new category in German")
	}

	cats, _ := e.svc.AdminCategories(ctx)
	id := cats[len(cats)-1].ID
	path := "/admin/categories/" + itoa64(id)
	form := categoryForm("events", "Happenings")
	form.Set("marketing", "1")
	form.Set("position", "1")
	if resp := c.post(path, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: status %d", resp.StatusCode)
	}
	_, action, _, detail := e.lastAudit()
	if action != "category_update" || !strings.Contains(detail, `"before"`) || !strings.Contains(detail, "Happenings") {
		t.Errorf("audit = %s %s", action, detail)
	}
	got, _ := e.svc.Categories(ctx, "en")
	if got[1].Slug != "events" || got[1].Name != "Happenings" || !got[1].Marketing {
		t.Errorf("after update, categories = %+v", got)
	}

	// Delete: a confirmation step, then the category is gone.
	resp, err := c.http.PostForm(e.ts.URL+path+"/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `data-testid="confirm"`) ||
		!strings.Contains(string(page), `action="`+path+`/delete"`) {
		t.Fatalf("delete without confirm: status %d, want the confirmation page posting back to %s/delete", resp.StatusCode, path)
	}
	if _, err := e.svc.AdminCategory(ctx, id); err != nil {
		t.Fatalf("the confirmation step deleted: %v", err)
	}
	if resp := c.post(path+"/delete", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: status %d", resp.StatusCode)
	}
	if _, err := e.svc.AdminCategory(ctx, id); err == nil {
		t.Error("category still there after delete")
	}
	if _, action, target, _ := e.lastAudit(); action != "category_delete" || target != "category:events" {
		t.Errorf("audit = %s %s", action, target)
	}
	if _, body := e.get("/optin"); strings.Contains(body, `value="events"`) {
		t.Error("the form still offers the deleted category")
	}
	if resp, _ := c.get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET deleted: status %d, want 404", resp.StatusCode)
	}
}

func itoa64(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestAdminCategoryInvalidChangesNothing(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	long := strings.Repeat("x", 61)
	for _, tc := range []struct {
		name, path string
		form       url.Values
		marker     string
	}{
		{"create: upper-case slug", "/admin/categories", categoryForm("Events", "Events"), "error-slug"},
		{"create: slug with a hyphen", "/admin/categories", categoryForm("new-events", "Events"), "error-slug"},
		{"create: taken slug", "/admin/categories", categoryForm("offers", "Offers again"), "error-slug"},
		{"create: no English name", "/admin/categories", categoryForm("events", ""), "error-name-en"},
		{"create: name too long", "/admin/categories", categoryForm("events", long), "error-name-en"},
		{"create: order not a number", "/admin/categories", func() url.Values {
			f := categoryForm("events", "Events")
			f.Set("position", "first")
			return f
		}(), "error-position"},
		{"edit: taken slug", "/admin/categories/3", categoryForm("offers", "Recommendations"), "error-slug"},
		{"edit: no English name", "/admin/categories/2", categoryForm("offers", ""), "error-name-en"},
		{"edit: description without a name", "/admin/categories/2", func() url.Values {
			f := categoryForm("offers", "Offers")
			f.Set("description.es", "Descuentos")
			return f
		}(), "error-name-es"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.catalogRows()
			req, _ := http.NewRequest("POST", e.ts.URL+tc.path, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readBody(resp)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", resp.StatusCode)
			}
			for _, m := range []string{`data-testid="` + tc.marker + `"`, `data-testid="form-errors"`, `data-testid="category-form"`} {
				if !strings.Contains(body, m) {
					t.Errorf("page lacks %s", m)
				}
			}
			if after := e.catalogRows(); !equalCounts(before, after) {
				t.Errorf("a refused change changed the catalog or the audit log")
			}
		})
	}
	// What was typed is shown again.
	req, _ := http.NewRequest("POST", e.ts.URL+"/admin/categories", strings.NewReader(categoryForm("Bad Slug", "Kept <b>name</b>").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := c.http.Do(req)
	body := readBody(resp)
	if !strings.Contains(body, `value="Bad Slug"`) || !strings.Contains(body, `value="Kept &lt;b&gt;name&lt;/b&gt;"`) {
		t.Errorf("the refused form does not keep (escaped) what was typed")
	}
}

func equalCounts(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAdminCategoryUsedSlugIsFixed(t *testing.T) {
	e := newEnv(t)
	c := e.signIn(consent.RoleAdmin)
	e.post("/optin", url.Values{"phone": {"+4915112345678"}, "category": {"offers"}, "lang": {"en"}})

	_, body := c.get("/admin/categories/2")
	if !strings.Contains(body, `readonly`) || !strings.Contains(body, "Fixed: events or consents") ||
		!strings.Contains(body, `data-testid="delete-blocked"`) {
		t.Errorf("a used category's page does not show the slug as fixed and deletion as blocked")
	}
	before := e.catalogRows()
	req, _ := http.NewRequest("POST", e.ts.URL+"/admin/categories/2", strings.NewReader(categoryForm("deals", "Deals").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := c.http.Do(req)
	body = readBody(resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "This slug is fixed") {
		t.Errorf("renaming a used slug: status %d", resp.StatusCode)
	}
	if resp := c.post("/admin/categories/2/delete", url.Values{"confirm": {"yes"}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("deleting a used category: status %d, want 409", resp.StatusCode)
	}
	if !equalCounts(before, e.catalogRows()) {
		t.Error("refused changes to a used category changed something")
	}
	// Its names may still change.
	if resp := c.post("/admin/categories/2", categoryForm("offers", "Deals")); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("renaming a used category's name: status %d", resp.StatusCode)
	}
}

func TestAdminCategoryViewerReadsOnly(t *testing.T) {
	e := newEnv(t)
	v := e.signIn(consent.RoleViewer)
	resp, body := v.get("/admin/categories/2")
	if resp.StatusCode != 200 || !strings.Contains(body, "disabled") || strings.Contains(body, `data-testid="category-save"`) {
		t.Errorf("viewer's category page: status %d; want a disabled form without Save", resp.StatusCode)
	}
	if _, body := v.get("/admin/categories"); strings.Contains(body, `data-testid="category-new"`) {
		t.Error("viewer sees New category")
	}
	before := e.catalogRows()
	for _, path := range []string{"/admin/categories", "/admin/categories/2", "/admin/categories/3/delete"} {
		if resp := v.post(path, categoryForm("offers", "Deals")); resp.StatusCode != http.StatusForbidden {
			t.Errorf("viewer POST %s: status %d, want 403", path, resp.StatusCode)
		}
	}
	if !equalCounts(before, e.catalogRows()) {
		t.Error("a viewer's posts changed the catalog")
	}
}
