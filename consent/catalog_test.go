package consent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/optin/optin/consent"
)

func fieldsOf(err error) map[string]string {
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		return verr.Fields
	}
	return nil
}

func TestCatalogCategoryValidation(t *testing.T) {
	en := map[string]consent.CategoryText{"en": {Name: "Events"}}
	for _, tc := range []struct {
		name string
		in   consent.CategoryInput
		want map[string]string
	}{
		{"upper case", consent.CategoryInput{Slug: "Events", Texts: en}, map[string]string{"slug": "slug.invalid"}},
		{"leading digit", consent.CategoryInput{Slug: "2events", Texts: en}, map[string]string{"slug": "slug.invalid"}},
		{"hyphen", consent.CategoryInput{Slug: "new-events", Texts: en}, map[string]string{"slug": "slug.invalid"}},
		{"empty", consent.CategoryInput{Slug: " ", Texts: en}, map[string]string{"slug": "slug.invalid"}},
		{"too long", consent.CategoryInput{Slug: strings.Repeat("a", 41), Texts: en}, map[string]string{"slug": "slug.invalid"}},
		{"no English", consent.CategoryInput{Slug: "events", Texts: map[string]consent.CategoryText{"de": {Name: "Termine"}}},
			map[string]string{"name.en": "name.required"}},
		{"description without name", consent.CategoryInput{Slug: "events", Texts: map[string]consent.CategoryText{
			"en": {Name: "Events"}, "es": {Description: "Eventos"}}}, map[string]string{"name.es": "name.missing"}},
		{"long name", consent.CategoryInput{Slug: "events", Texts: map[string]consent.CategoryText{
			"en": {Name: strings.Repeat("x", 61)}}}, map[string]string{"name.en": "name.too_long"}},
		{"bad position", consent.CategoryInput{Slug: "events", Position: -1, Texts: en}, map[string]string{"position": "position.invalid"}},
		{"taken", consent.CategoryInput{Slug: "offers", Texts: en}, map[string]string{"slug": "slug.taken"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := entryService(t, "k")
			before, _ := svc.AdminCategories(context.Background())
			_, err := svc.CreateCategory(context.Background(), tc.in)
			if got := fieldsOf(err); !equalFields(got, tc.want) {
				t.Errorf("fields = %v (%v), want %v", got, err, tc.want)
			}
			after, _ := svc.AdminCategories(context.Background())
			if len(after) != len(before) {
				t.Errorf("%d categories after a refused create, want %d", len(after), len(before))
			}
		})
	}
}

func equalFields(a, b map[string]string) bool {
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

func TestCatalogCategoryChangesReachTheCache(t *testing.T) {
	svc := entryService(t, "k")
	ctx := context.Background()
	if _, err := svc.Categories(ctx, "en"); err != nil { // fill the cache
		t.Fatal(err)
	}
	id, err := svc.CreateCategory(ctx, consent.CategoryInput{Slug: " events ", Texts: map[string]consent.CategoryText{
		"en": {Name: " Events ", Description: "What is on."}, "pt": {Name: ""}}})
	if err != nil {
		t.Fatal(err)
	}
	cats, _ := svc.Categories(ctx, "en")
	if last := cats[len(cats)-1]; last.Slug != "events" || last.Name != "Events" {
		t.Fatalf("categories after create end with %+v", last)
	}
	err = svc.UpdateCategory(ctx, id, consent.CategoryInput{Slug: "events", Marketing: true, Position: 1,
		Texts: map[string]consent.CategoryText{"en": {Name: "What's on"}}})
	if err != nil {
		t.Fatal(err)
	}
	cats, _ = svc.Categories(ctx, "en")
	// Position 1 ties with order_updates: the older one comes first.
	if cats[1].Slug != "events" || cats[1].Name != "What's on" || !cats[1].Marketing {
		t.Errorf("second category after update = %+v", cats[1])
	}
	if err := svc.DeleteCategory(ctx, id); err != nil {
		t.Fatal(err)
	}
	cats, _ = svc.Categories(ctx, "en")
	if slices.ContainsFunc(cats, func(c consent.Category) bool { return c.Slug == "events" }) {
		t.Error("deleted category still listed")
	}
}

func TestCatalogUsedSlugIsAFieldError(t *testing.T) {
	svc := entryService(t, "k")
	ctx := context.Background()
	cats, _ := svc.AdminCategories(ctx)
	offers := cats[1]
	if _, err := svc.OptIn(ctx, consent.OptInRequest{Phone: "+4915112345678", Categories: []string{"offers"},
		Lang: "en", Wording: "I agree.", Evidence: consent.Evidence{Source: consent.SourceWebForm}}); err != nil {
		t.Fatal(err)
	}
	err := svc.UpdateCategory(ctx, offers.ID, consent.CategoryInput{Slug: "deals", Texts: offers.Texts})
	if got := fieldsOf(err); got["slug"] != "slug.fixed" {
		t.Errorf("rename used: fields = %v (%v), want slug.fixed", got, err)
	}
	err = svc.UpdateCategory(ctx, offers.ID, consent.CategoryInput{Slug: "order_updates", Texts: offers.Texts})
	if got := fieldsOf(err); got["slug"] != "slug.fixed" {
		t.Errorf("rename used to a taken slug: fields = %v", got)
	}
	if err := svc.DeleteCategory(ctx, offers.ID); !errors.Is(err, consent.ErrInUse) {
		t.Errorf("delete used: err = %v, want ErrInUse", err)
	}
}

func TestCatalogFormWording(t *testing.T) {
	svc := entryService(t, "k")
	ctx := context.Background()
	builtIn, err := svc.FormWording(ctx, "es")
	if err != nil || builtIn.Text != "optin.wording" || builtIn.Kind != "consent" || builtIn.Lang != "es" {
		t.Fatalf("built-in = %+v, %v", builtIn, err)
	}

	for _, tc := range []struct{ name, text, want string }{
		{"empty", " \r\n ", "wording.missing"},
		{"unchanged", "optin.wording", "wording.unchanged"},
		{"too long", strings.Repeat("x", consent.MaxWordingRunes+1), "wording.too_long"},
	} {
		_, err := svc.SetFormWording(ctx, "es", tc.text, "admin:a@example.com")
		if got := fieldsOf(err); got["text"] != tc.want {
			t.Errorf("%s: fields = %v (%v), want %s", tc.name, got, err, tc.want)
		}
	}
	if vs, _ := svc.WordingVersions(ctx); len(vs) != 0 {
		t.Errorf("refused edits stored %d wordings", len(vs))
	}

	w, err := svc.SetFormWording(ctx, "es", "Acepto recibir mensajes.\r\nPuedo darme de baja.", "admin:a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if w.Version != 2 || w.Text != "Acepto recibir mensajes.\nPuedo darme de baja." || w.Hash != consent.NewWording("consent", "es", w.Text).Hash {
		t.Errorf("new wording = %+v, want version 2 (the built-in text is 1) with the SHA-256 of its text", w)
	}
	cur, _ := svc.FormWording(ctx, "es")
	if cur.Hash != w.Hash {
		t.Errorf("form shows %+v, want the new version", cur)
	}
	if other, _ := svc.FormWording(ctx, "en"); other.Text != "optin.wording" {
		t.Errorf("English changed too: %+v", other)
	}

	// What a form showed is what is recorded: the current version, an
	// older one the form showed before, the built-in text; anything else
	// (a forged or unknown hash) records the current version.
	for _, tc := range []struct {
		name, hash, want string
	}{
		{"current", w.Hash, w.Hash},
		{"none", "", w.Hash},
		{"built-in", builtIn.Hash, builtIn.Hash},
		{"unknown", strings.Repeat("ab", 32), w.Hash},
	} {
		got, err := svc.ShownFormWording(ctx, "es", tc.hash)
		if err != nil || got.Hash != tc.want {
			t.Errorf("%s: shown = %+v, %v; want %s", tc.name, got, err, tc.want[:8])
		}
	}
	w3, _ := svc.SetFormWording(ctx, "es", "Versión tres.", "admin:a@example.com")
	if got, _ := svc.ShownFormWording(ctx, "es", w.Hash); got.Hash != w.Hash || got.Text != w.Text {
		t.Errorf("an older version the form showed = %+v, want it kept", got)
	}
	if got, _ := svc.ShownFormWording(ctx, "de", w3.Hash); got.Lang != "de" {
		t.Errorf("a Spanish version for a German form = %+v, want the German one", got)
	}

	_, err = svc.SetFormWording(ctx, "de", "Versión tres.", "admin:a@example.com")
	if got := fieldsOf(err); got["text"] != "wording.elsewhere" {
		t.Errorf("the Spanish text for German: fields = %v (%v)", got, err)
	}
	if _, err := svc.WordingVersion(ctx, "../etc"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("malformed hash: err = %v", err)
	}
	v, err := svc.WordingVersion(ctx, w3.Hash)
	if err != nil || v.Version != 3 || !v.Current {
		t.Errorf("version 3 = %+v, %v", v, err)
	}
}

func TestCatalogUpdateEntryPoint(t *testing.T) {
	svc := entryService(t, "k")
	ctx := context.Background()
	e, err := svc.UpdateEntryPoint(ctx, "hello", " Walk-ins ", []string{"recommendations", "offers"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Code != "HELLO" || e.Name != "Walk-ins" || !slices.Equal(e.Categories, []string{"offers", "recommendations"}) {
		t.Errorf("updated = %+v, want catalog order", e)
	}
	_, err = svc.UpdateEntryPoint(ctx, "HELLO", "", []string{"nope"})
	if got := fieldsOf(err); got["name"] != "entry.name" || got["categories"] != "entry.categories" {
		t.Errorf("bad update: fields = %v (%v)", got, err)
	}
	if again, _ := svc.EntryPoint(ctx, "HELLO"); again.Name != "Walk-ins" {
		t.Errorf("a refused update changed the entry point: %+v", again)
	}
	if _, err := svc.UpdateEntryPoint(ctx, "NOPE", "x", []string{"offers"}); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown code: err = %v", err)
	}
}
