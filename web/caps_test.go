package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

// TestCatalogRefusesBadText: names, descriptions, the consent wording and
// entry point names with a NUL or bytes that are not UTF-8 get a clear
// error and change nothing.
func TestCatalogRefusesBadText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signIn(consent.RoleAdmin)
	cases := []struct {
		name, path string
		form       url.Values
	}{
		{"category name NUL", "/admin/categories", url.Values{"slug": {"news"}, "name.en": {"News\x00"}}},
		{"category name not UTF-8", "/admin/categories", url.Values{"slug": {"news"}, "name.en": {"News\xff"}}},
		{"category description NUL", "/admin/categories", url.Values{"slug": {"news"}, "name.en": {"News"}, "description.en": {"a\x00b"}}},
		{"wording NUL", "/admin/wording", url.Values{"lang": {"en"}, "text": {"I agree\x00 to everything."}}},
		{"wording not UTF-8", "/admin/wording", url.Values{"lang": {"en"}, "text": {"I agree \xc3\x28 to everything."}}},
		{"entry point name NUL", "/admin/entry-points", url.Values{"code": {"SHOP7"}, "name": {"Shop\x00"}, "category": {"offers"}}},
	}
	for _, tc := range cases {
		before := fmt.Sprint(e.catalogRows())
		req, _ := http.NewRequest("POST", e.ts.URL+tc.path, strings.NewReader(tc.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := admin.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "not UTF-8 text") {
			t.Errorf("%s: %d, want 422 with the NUL/UTF-8 message", tc.name, resp.StatusCode)
		}
		if after := fmt.Sprint(e.catalogRows()); after != before {
			t.Errorf("%s: %s → %s, want no change", tc.name, before, after)
		}
	}
}

// TestCategoriesCapped: the 51st category is refused with a clear error.
func TestCategoriesCapped(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cats, err := e.svc.AdminCategories(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i := len(cats); i < consent.MaxCategories; i++ {
		if _, err := e.svc.CreateCategory(t.Context(), consent.CategoryInput{Slug: fmt.Sprintf("c%d", i),
			Texts: map[string]consent.CategoryText{"en": {Name: fmt.Sprintf("C %d", i)}}}); err != nil {
			t.Fatalf("category %d: %v", i, err)
		}
	}
	admin := e.signIn(consent.RoleAdmin)
	before := fmt.Sprint(e.catalogRows())
	req, _ := http.NewRequest("POST", e.ts.URL+"/admin/categories", strings.NewReader(url.Values{"slug": {"one_more"}, "name.en": {"One more"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := admin.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(page), "categories already") {
		t.Errorf("category %d = %d, want 422 saying why", consent.MaxCategories+1, resp.StatusCode)
	}
	if after := fmt.Sprint(e.catalogRows()); after != before {
		t.Errorf("%s → %s, want no change", before, after)
	}
}
