package store

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/optin/optin/consent"
)

func category(slug string, marketing bool, name string) consent.CategoryInput {
	return consent.CategoryInput{Slug: slug, Marketing: marketing,
		Texts: map[string]consent.CategoryText{"en": {Name: name, Description: name + " news"}, "de": {Name: name + " (de)"}}}
}

func TestCatalogCreateCategoryGoesLast(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	id, err := db.CreateCategory(ctx, category("events", false, "Events"), t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.AdminCategory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Slug != "events" || got.Position != 4 || got.Used || got.Texts["de"].Name != "Events (de)" ||
		got.Texts["en"].Description != "Events news" || !got.CreatedAt.Equal(t0) {
		t.Errorf("created = %+v", got)
	}
	cats, _ := db.Categories(ctx, "es")
	if last := cats[len(cats)-1]; last.Slug != "events" || last.Name != "Events" {
		t.Errorf("last category in es = %+v, want events falling back to English", last)
	}
	if _, err := db.CreateCategory(ctx, category("offers", true, "Again"), t0); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("taken slug: err = %v, want ErrConflict", err)
	}
}

func TestCatalogSlugFixedOnceUsed(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	id, _ := db.CreateCategory(ctx, category("evnets", false, "Events"), t0)
	code := "SPRING"
	if _, err := db.CreateEntryPoint(ctx, consent.EntryPoint{Code: code, Name: "Spring",
		Categories: []string{"offers", "evnets"}}, t0); err != nil {
		t.Fatal(err)
	}

	// Unused: the typo may be corrected, and the entry point follows.
	if err := db.UpdateCategory(ctx, id, category("events", false, "Events"), t0); err != nil {
		t.Fatalf("rename unused: %v", err)
	}
	e, _ := db.EntryPointByCode(ctx, code)
	if !slices.Equal(e.Categories, []string{"offers", "events"}) {
		t.Errorf("entry point categories = %q, want the new slug", e.Categories)
	}

	// Used: once an event names it, the slug is fixed; the rest may change.
	if _, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "events")); err != nil {
		t.Fatal(err)
	}
	err := db.UpdateCategory(ctx, id, category("happenings", false, "Events"), t0)
	if !errors.Is(err, consent.ErrInUse) {
		t.Errorf("rename used: err = %v, want ErrInUse", err)
	}
	got, _ := db.AdminCategory(ctx, id)
	if got.Slug != "events" || !got.Used || got.OptedIn != 1 {
		t.Errorf("after refused rename = %+v", got)
	}
	in := category("events", true, "Happenings")
	in.Position = 1
	delete(in.Texts, "de")
	if err := db.UpdateCategory(ctx, id, in, t0); err != nil {
		t.Fatalf("edit used: %v", err)
	}
	got, _ = db.AdminCategory(ctx, id)
	if !got.Marketing || got.Position != 1 || got.Texts["en"].Name != "Happenings" || len(got.Texts) != 1 {
		t.Errorf("after edit = %+v", got)
	}
	if err := db.UpdateCategory(ctx, 999, in, t0); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
}

func TestCatalogSlugUsedByEventsAlone(t *testing.T) {
	// An erased contact's consents are gone, its events stay: the slug is
	// still used.
	db := openTest(t)
	ctx := context.Background()
	id, _ := db.CreateCategory(ctx, category("events", false, "Events"), t0)
	db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "events"))
	if _, err := db.SQL().Exec(`DELETE FROM consents`); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateCategory(ctx, id, category("other", false, "Events"), t0); !errors.Is(err, consent.ErrInUse) {
		t.Errorf("rename with events only: err = %v, want ErrInUse", err)
	}
	if err := db.DeleteCategory(ctx, id); !errors.Is(err, consent.ErrInUse) {
		t.Errorf("delete with events only: err = %v, want ErrInUse", err)
	}
}

func TestCatalogDeleteCategory(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	id, _ := db.CreateCategory(ctx, category("events", false, "Events"), t0)
	db.CreateEntryPoint(ctx, consent.EntryPoint{Code: "SPRING", Name: "Spring", Categories: []string{"events"}}, t0)
	if err := db.DeleteCategory(ctx, id); !errors.Is(err, consent.ErrInUse) {
		t.Errorf("delete offered by an entry point: err = %v, want ErrInUse", err)
	}
	got, _ := db.AdminCategory(ctx, id)
	if !slices.Equal(got.EntryPoints, []string{"SPRING"}) {
		t.Errorf("EntryPoints = %q", got.EntryPoints)
	}
	db.UpdateEntryPoint(ctx, consent.EntryPoint{Code: "SPRING", Name: "Spring", Categories: []string{"offers"}}, t0)
	if err := db.DeleteCategory(ctx, id); err != nil {
		t.Fatalf("delete unused: %v", err)
	}
	if _, err := db.AdminCategory(ctx, id); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("after delete: err = %v, want ErrNotFound", err)
	}
	var texts int
	db.SQL().QueryRow(`SELECT count(*) FROM category_texts WHERE category_id = ?`, id).Scan(&texts)
	if texts != 0 {
		t.Errorf("%d texts left", texts)
	}
	if err := db.DeleteCategory(ctx, id); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("delete again: err = %v, want ErrNotFound", err)
	}
}

func TestCatalogFormWordingVersions(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.FormWording(ctx, "en"); !errors.Is(err, consent.ErrNotFound) {
		t.Fatalf("no choice yet: err = %v, want ErrNotFound", err)
	}
	builtIn := consent.NewWording("consent", "en", "I agree.")
	v2 := consent.NewWording("consent", "en", "I agree, and I know I can stop.")
	got, err := db.ChooseFormWording(ctx, builtIn, v2, "admin:a@example.com", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Hash != v2.Hash {
		t.Errorf("chosen = %+v, want version 2 after the built-in text", got)
	}
	cur, err := db.FormWording(ctx, "en")
	if err != nil || cur.Hash != v2.Hash {
		t.Errorf("current = %+v, %v", cur, err)
	}
	if _, err := db.FormWording(ctx, "de"); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("de: err = %v, want ErrNotFound", err)
	}

	// An opt-in shown the built-in text references version 1.
	if _, err := db.FixtureOptIn(ctx, optIn("+4915112345678", consent.OptedIn, t0, "offers", "order_updates")); err != nil {
		t.Fatal(err)
	}
	vs, err := db.WordingVersions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Hash != v2.Hash || vs[0].Version != 2 || !vs[0].Current || !vs[0].Form || vs[0].Events != 0 ||
		vs[1].Hash != builtIn.Hash || vs[1].Version != 1 || vs[1].Current || vs[1].Form || vs[1].Events != 2 ||
		!vs[1].CreatedAt.Equal(t0) {
		t.Errorf("versions = %+v", vs)
	}

	// Going back to version 1 keeps its number and makes it current.
	back, err := db.ChooseFormWording(ctx, v2, builtIn, "admin:a@example.com", t0)
	if err != nil || back.Version != 1 {
		t.Errorf("back = %+v, %v; want version 1", back, err)
	}
	for _, h := range []string{builtIn.Hash, v2.Hash} {
		if ok, err := db.FormWordingChosen(ctx, "en", h); !ok || err != nil {
			t.Errorf("chosen(%s) = %v, %v", h[:8], ok, err)
		}
	}
	if ok, _ := db.FormWordingChosen(ctx, "de", v2.Hash); ok {
		t.Error("the English text counts as chosen in German")
	}
	one, err := db.WordingVersion(ctx, builtIn.Hash)
	if err != nil || !one.Current || one.Events != 2 || one.Text != "I agree." {
		t.Errorf("WordingVersion = %+v, %v", one, err)
	}
	if _, err := db.WordingVersion(ctx, v2.Hash[:10]); !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown hash: err = %v", err)
	}

	// The same text can't be stored again for another language.
	de := consent.NewWording("consent", "de", v2.Text)
	if _, err := db.ChooseFormWording(ctx, consent.Wording{}, de, "admin:a@example.com", t0); !errors.Is(err, consent.ErrConflict) {
		t.Errorf("English text for German: err = %v, want ErrConflict", err)
	}
	var choices int
	db.SQL().QueryRow(`SELECT count(*) FROM form_wordings`).Scan(&choices)
	if choices != 2 {
		t.Errorf("%d choices recorded, want 2 (the refused one not)", choices)
	}
}

func TestCatalogUpdateEntryPoint(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	err := db.UpdateEntryPoint(ctx, consent.EntryPoint{Code: consent.DefaultEntryPoint, Name: "Walk-ins",
		Categories: []string{"offers"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := db.EntryPointByCode(ctx, consent.DefaultEntryPoint)
	if e.Name != "Walk-ins" || !slices.Equal(e.Categories, []string{"offers"}) {
		t.Errorf("after update = %+v", e)
	}
	err = db.UpdateEntryPoint(ctx, consent.EntryPoint{Code: "NOPE", Name: "x", Categories: []string{"offers"}}, t0)
	if !errors.Is(err, consent.ErrNotFound) {
		t.Errorf("unknown code: err = %v, want ErrNotFound", err)
	}
}
