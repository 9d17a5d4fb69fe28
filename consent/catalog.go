package consent

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// The catalog is what admins edit: the categories, the consent wording of
// the opt-in form per language, and (in entrypoint.go) the entry points.
//
// A category's slug is fixed once it is used, that is once an event or a
// consent names it: events keep the slug they were recorded with, and an
// event that names a slug the catalog no longer has would prove consent to
// nothing anyone can read. An unused slug may still be corrected (a typo
// seen right after creating it); entry points that offer it follow. A used
// category can't be deleted, and it is not archived or hidden either: STOP,
// the preference center and the check API all go through the catalog, so a
// hidden category with live consents would be skipped by a STOP. An unused
// category that no entry point offers may be deleted.

// ErrInUse is returned when a change would break what events, consents or
// entry points refer to: a used category's slug or its deletion.
var ErrInUse = errors.New("in use")

// Limits of the catalog's texts, in characters.
const (
	MaxSlugLen         = 40
	MaxCategoryName    = 60
	MaxCategoryDesc    = 300
	MaxWordingRunes    = 2000
	MaxCategoryOrder   = 9999
	categoryLangNeeded = "en" // the fallback language: every category has a name in it
)

// CategoryText is a category's name and description in one language.
type CategoryText struct {
	Name        string
	Description string
}

// CategoryInput is a category as an admin submits it.
type CategoryInput struct {
	Slug      string
	Marketing bool
	// Position orders the categories on the form; 0 puts a new category
	// last and leaves an existing one where it is.
	Position int
	// Texts maps a language to the category's name and description in it.
	// English is required; a language left without a name falls back to
	// English.
	Texts map[string]CategoryText
}

// CategoryDetail is a category with every text and what refers to it, for
// the admin pages.
type CategoryDetail struct {
	ID        int64
	Slug      string
	Marketing bool
	Position  int
	Texts     map[string]CategoryText
	CreatedAt time.Time
	// Used is set once an event or a consent names the category: its slug
	// is then fixed and it can't be deleted.
	Used bool
	// OptedIn counts the contacts opted in now (pending ones not included).
	OptedIn int
	// EntryPoints lists the codes of the entry points that offer it.
	EntryPoints []string
}

// WordingVersion is a stored wording with when it was stored and what
// refers to it.
type WordingVersion struct {
	Wording
	CreatedAt time.Time
	// Events counts the events that reference the wording.
	Events int
	// Form is set when an admin chose the text for the opt-in form, and
	// Current when the form shows it now.
	Form    bool
	Current bool
}

// CatalogStore keeps the catalog. Each method is one transaction.
type CatalogStore interface {
	// AdminCategories lists every category with its texts, in form order.
	AdminCategories(ctx context.Context) ([]CategoryDetail, error)
	// AdminCategory returns one category, or ErrNotFound.
	AdminCategory(ctx context.Context, id int64) (CategoryDetail, error)
	// CreateCategory stores a category; ErrConflict when the slug is taken.
	CreateCategory(ctx context.Context, c CategoryInput, at time.Time) (int64, error)
	// UpdateCategory changes a category. A new slug for a used category is
	// ErrInUse; a slug taken by another is ErrConflict. Entry points that
	// offer a renamed category are updated with it.
	UpdateCategory(ctx context.Context, id int64, c CategoryInput, at time.Time) error
	// DeleteCategory removes an unused category that no entry point offers;
	// ErrInUse otherwise.
	DeleteCategory(ctx context.Context, id int64) error

	// FormWording returns the wording an admin last chose for the opt-in
	// form in lang, or ErrNotFound when none was chosen.
	FormWording(ctx context.Context, lang string) (Wording, error)
	// ChooseFormWording stores prev (the text the form showed until now,
	// when it was not stored yet) and next as the next version of the
	// consent wording in next.Lang, and makes next the form's wording.
	// ErrConflict when next's text is stored as another kind or language.
	ChooseFormWording(ctx context.Context, prev, next Wording, actor string, at time.Time) (Wording, error)
	// FormWordingChosen reports whether hash was ever the form's wording in lang.
	FormWordingChosen(ctx context.Context, lang, hash string) (bool, error)
	// WordingVersions lists every stored wording, by kind, language and
	// newest version first.
	WordingVersions(ctx context.Context) ([]WordingVersion, error)
	// WordingVersion returns one stored wording, or ErrNotFound.
	WordingVersion(ctx context.Context, hash string) (WordingVersion, error)
}

// AdminCategories lists every category with its texts in every language.
func (s *Service) AdminCategories(ctx context.Context) ([]CategoryDetail, error) {
	return s.store.AdminCategories(ctx)
}

// AdminCategory returns one category with its texts, or ErrNotFound.
func (s *Service) AdminCategory(ctx context.Context, id int64) (CategoryDetail, error) {
	return s.store.AdminCategory(ctx, id)
}

// CreateCategory validates and stores a new category. A taken slug is a
// *ValidationError on "slug".
func (s *Service) CreateCategory(ctx context.Context, in CategoryInput) (int64, error) {
	in, err := validCategory(in)
	if err != nil {
		return 0, err
	}
	// Every category is a checkbox on the form and an event per STOP: a
	// bound keeps both sane.
	all, err := s.store.AdminCategories(ctx)
	if err != nil {
		return 0, err
	}
	if len(all) >= MaxCategories {
		return 0, &ValidationError{Fields: map[string]string{"slug": "category.too_many"}}
	}
	id, err := s.store.CreateCategory(ctx, in, s.clock.Now())
	if errors.Is(err, ErrConflict) {
		return 0, &ValidationError{Fields: map[string]string{"slug": "slug.taken"}}
	}
	if err != nil {
		return 0, err
	}
	s.ForgetCategories()
	return id, nil
}

// UpdateCategory validates and applies an admin's change to a category. A
// new slug for a used category, or one taken by another category, is a
// *ValidationError on "slug".
func (s *Service) UpdateCategory(ctx context.Context, id int64, in CategoryInput) error {
	in, err := validCategory(in)
	if err != nil {
		return err
	}
	err = s.store.UpdateCategory(ctx, id, in, s.clock.Now())
	switch {
	case errors.Is(err, ErrInUse):
		return &ValidationError{Fields: map[string]string{"slug": "slug.fixed"}}
	case errors.Is(err, ErrConflict):
		return &ValidationError{Fields: map[string]string{"slug": "slug.taken"}}
	case err != nil:
		return err
	}
	s.ForgetCategories()
	return nil
}

// DeleteCategory removes an unused category; ErrInUse when an event, a
// consent or an entry point refers to it.
func (s *Service) DeleteCategory(ctx context.Context, id int64) error {
	if err := s.store.DeleteCategory(ctx, id); err != nil {
		return err
	}
	s.ForgetCategories()
	return nil
}

// ValidSlug reports whether slug can name a category: a lower-case letter,
// then lower-case letters, digits and underscores, at most MaxSlugLen.
func ValidSlug(slug string) bool {
	if slug == "" || len(slug) > MaxSlugLen || slug[0] < 'a' || slug[0] > 'z' {
		return false
	}
	for _, r := range slug {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// validCategory trims in and reports every problem at once. Fields are
// "slug", "position", and "name.LANG" / "description.LANG".
func validCategory(in CategoryInput) (CategoryInput, error) {
	verr := &ValidationError{}
	in.Slug = strings.TrimSpace(in.Slug)
	if !ValidSlug(in.Slug) {
		verr.Add("slug", "slug.invalid")
	}
	if in.Position < 0 || in.Position > MaxCategoryOrder {
		verr.Add("position", "position.invalid")
	}
	texts := map[string]CategoryText{}
	for lang, t := range in.Texts {
		t.Name, t.Description = strings.TrimSpace(t.Name), strings.TrimSpace(t.Description)
		if !CleanText(t.Name) {
			verr.Add("name."+lang, "text.invalid_chars")
		}
		if !CleanText(t.Description) {
			verr.Add("description."+lang, "text.invalid_chars")
		}
		if utf8.RuneCountInString(t.Name) > MaxCategoryName {
			verr.Add("name."+lang, "name.too_long")
		}
		if utf8.RuneCountInString(t.Description) > MaxCategoryDesc {
			verr.Add("description."+lang, "description.too_long")
		}
		if t.Name == "" && t.Description != "" {
			verr.Add("name."+lang, "name.missing")
		}
		if t.Name != "" {
			texts[lang] = t
		}
	}
	if _, ok := texts[categoryLangNeeded]; !ok {
		verr.Add("name."+categoryLangNeeded, "name.required")
	}
	in.Texts = texts
	return in, verr.OrNil()
}

// formWordingKey is the cache key of the form's wording in a language. It
// shares the categories' cache (whose keys are languages and "aliases"), so
// ForgetCategories drops it too, which costs one query.
func formWordingKey(lang string) string { return "wording:" + lang }

// FormWording is the consent wording the opt-in form shows in lang: the
// version an admin chose last, or the built-in text until one did. It is
// read on every form and cached until an admin changes it.
func (s *Service) FormWording(ctx context.Context, lang string) (Wording, error) {
	if v, ok := s.categories.Load(formWordingKey(lang)); ok {
		return v.(Wording), nil
	}
	w, err := s.store.FormWording(ctx, lang)
	if errors.Is(err, ErrNotFound) {
		w, err = s.defaultFormWording(lang), nil
	}
	if err != nil {
		return Wording{}, err
	}
	s.categories.Store(formWordingKey(lang), w)
	return w, nil
}

// defaultFormWording is the built-in consent text of the form in lang.
func (s *Service) defaultFormWording(lang string) Wording {
	return NewWording("consent", lang, s.t(lang, "optin.wording", s.cfg.BusinessName))
}

// ShownFormWording is the wording to record with an opt-in whose form
// showed the wording with hash: that version when it is, or was, the
// form's wording in lang (the form may have been opened before an admin
// changed it), the current one otherwise.
func (s *Service) ShownFormWording(ctx context.Context, lang, hash string) (Wording, error) {
	cur, err := s.FormWording(ctx, lang)
	if err != nil || hash == "" || hash == cur.Hash {
		return cur, err
	}
	if def := s.defaultFormWording(lang); hash == def.Hash {
		return def, nil
	}
	chosen, err := s.store.FormWordingChosen(ctx, lang, hash)
	if err != nil || !chosen {
		return cur, err
	}
	return s.store.Wording(ctx, hash)
}

// SetFormWording makes text the consent wording of the opt-in form in lang,
// as a new version; events keep referencing the versions they were shown.
// Text that is empty, too long or the same as now is a *ValidationError on
// "text"; so is a text already stored for another language, since a
// wording is stored once and is identified by its text alone.
func (s *Service) SetFormWording(ctx context.Context, lang, text, actor string) (Wording, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	verr := &ValidationError{}
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		verr.Add("text", "wording.missing")
	case n > MaxWordingRunes:
		verr.Add("text", "wording.too_long")
	case !CleanText(text):
		verr.Add("text", "text.invalid_chars")
	}
	cur, err := s.FormWording(ctx, lang)
	if err != nil {
		return Wording{}, err
	}
	if text == cur.Text {
		verr.Add("text", "wording.unchanged")
	}
	if err := verr.OrNil(); err != nil {
		return Wording{}, err
	}
	w, err := s.store.ChooseFormWording(ctx, cur, NewWording("consent", lang, text), actor, s.clock.Now())
	if errors.Is(err, ErrConflict) {
		return Wording{}, &ValidationError{Fields: map[string]string{"text": "wording.elsewhere"}}
	}
	if err != nil {
		return Wording{}, err
	}
	s.categories.Delete(formWordingKey(lang))
	return w, nil
}

// WordingVersions lists every stored wording with the number of events
// that reference it.
func (s *Service) WordingVersions(ctx context.Context) ([]WordingVersion, error) {
	return s.store.WordingVersions(ctx)
}

// WordingVersion returns the stored wording with hash, or ErrNotFound.
func (s *Service) WordingVersion(ctx context.Context, hash string) (WordingVersion, error) {
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return WordingVersion{}, ErrNotFound
	}
	return s.store.WordingVersion(ctx, hash)
}

// MaxCategories is the most categories an installation keeps.
const MaxCategories = 50

// CleanText reports whether s can be stored as a name or a text: valid
// UTF-8 without NUL (a NUL cuts strings short in other tools, and invalid
// bytes turn into U+FFFD on the way to a page or a JSON answer).
func CleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
