package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// categoryUsed is true when an event or a consent names the category
// c.id / c.slug (events_category makes the first an index lookup).
const categoryUsed = `(EXISTS (SELECT 1 FROM events WHERE category = c.slug)
	OR EXISTS (SELECT 1 FROM consents WHERE category_id = c.id))`

// AdminCategories lists every category with its texts in every language,
// whether it is used, how many contacts are opted in and which entry points
// offer it, in form order.
func (s *DB) AdminCategories(ctx context.Context) ([]consent.CategoryDetail, error) {
	var out []consent.CategoryDetail
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = adminCategories(ctx, tx, 0)
		return err
	})
	return out, mapErr("admin categories", err)
}

// AdminCategory returns one category as AdminCategories does, or
// consent.ErrNotFound.
func (s *DB) AdminCategory(ctx context.Context, id int64) (consent.CategoryDetail, error) {
	var out []consent.CategoryDetail
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = adminCategories(ctx, tx, id)
		return err
	})
	if err != nil {
		return consent.CategoryDetail{}, mapErr("admin category", err)
	}
	if len(out) == 0 {
		return consent.CategoryDetail{}, consent.ErrNotFound
	}
	return out[0], nil
}

// adminCategories reads the category id, or every category when id is 0.
func adminCategories(ctx context.Context, tx *sql.Tx, id int64) ([]consent.CategoryDetail, error) {
	rows, err := tx.QueryContext(ctx, `
		SELECT c.id, c.slug, c.marketing, c.position, c.created_at, `+categoryUsed+`,
		       (SELECT count(*) FROM consents WHERE category_id = c.id AND state = 'opted_in')
		FROM categories c WHERE ? = 0 OR c.id = ?
		ORDER BY c.position, c.id`, id, id)
	if err != nil {
		return nil, err
	}
	var out []consent.CategoryDetail
	byID := map[int64]int{}
	for rows.Next() {
		var c consent.CategoryDetail
		var created string
		if err := rows.Scan(&c.ID, &c.Slug, &c.Marketing, &c.Position, &created, &c.Used, &c.OptedIn); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt = parseTS(created)
		c.Texts = map[string]consent.CategoryText{}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.QueryContext(ctx, `SELECT category_id, lang, name, description FROM category_texts WHERE ? = 0 OR category_id = ?`, id, id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var cid int64
		var lang string
		var t consent.CategoryText
		if err := rows.Scan(&cid, &lang, &t.Name, &t.Description); err != nil {
			rows.Close()
			return nil, err
		}
		if i, ok := byID[cid]; ok {
			out[i].Texts[lang] = t
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	offers, err := entryOffers(ctx, tx)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].EntryPoints = offers[out[i].Slug]
	}
	return out, nil
}

// entryOffers maps each category slug to the codes of the entry points
// that offer it. There are few entry points, and their categories are a
// comma-separated list, so they are read whole.
func entryOffers(ctx context.Context, tx *sql.Tx) (map[string][]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT code, categories FROM entry_points ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var code, cats string
		if err := rows.Scan(&code, &cats); err != nil {
			return nil, err
		}
		for _, slug := range strings.Split(cats, ",") {
			out[slug] = append(out[slug], code)
		}
	}
	return out, rows.Err()
}

// CreateCategory stores a category with its texts; a Position of 0 puts it
// last. consent.ErrConflict when the slug is taken.
func (s *DB) CreateCategory(ctx context.Context, c consent.CategoryInput, at time.Time) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		pos := c.Position
		if pos == 0 {
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(position), 0) + 1 FROM categories`).Scan(&pos); err != nil {
				return err
			}
		}
		err := tx.QueryRowContext(ctx, `INSERT INTO categories (slug, marketing, position, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`, c.Slug, c.Marketing, pos, ts(at)).Scan(&id)
		if err != nil {
			return err
		}
		return putCategoryTexts(ctx, tx, id, c.Texts)
	})
	return id, mapErr("create category", err)
}

// UpdateCategory changes a category and replaces its texts. A new slug is
// consent.ErrInUse for a used category; entry points offering an unused one
// get the new slug. A Position of 0 keeps the category where it is.
func (s *DB) UpdateCategory(ctx context.Context, id int64, c consent.CategoryInput, at time.Time) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var old string
		var used bool
		err := tx.QueryRowContext(ctx, `SELECT c.slug, `+categoryUsed+` FROM categories c WHERE c.id = ?`, id).Scan(&old, &used)
		if err != nil {
			return err
		}
		if c.Slug != old {
			if used {
				return consent.ErrInUse
			}
			if err := renameEntryCategory(ctx, tx, old, c.Slug, at); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE categories SET slug = ?, marketing = ?,
			position = CASE WHEN ? = 0 THEN position ELSE ? END WHERE id = ?`,
			c.Slug, c.Marketing, c.Position, c.Position, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM category_texts WHERE category_id = ?`, id); err != nil {
			return err
		}
		return putCategoryTexts(ctx, tx, id, c.Texts)
	})
	return mapErr("update category", err)
}

// renameEntryCategory replaces the slug old by new in every entry point
// that offers it.
func renameEntryCategory(ctx context.Context, tx *sql.Tx, old, new string, at time.Time) error {
	offers, err := entryOffers(ctx, tx)
	if err != nil {
		return err
	}
	for _, code := range offers[old] {
		var cats string
		if err := tx.QueryRowContext(ctx, `SELECT categories FROM entry_points WHERE code = ?`, code).Scan(&cats); err != nil {
			return err
		}
		list := strings.Split(cats, ",")
		for i := range list {
			if list[i] == old {
				list[i] = new
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE entry_points SET categories = ?, updated_at = ? WHERE code = ?`,
			strings.Join(list, ","), ts(at), code); err != nil {
			return err
		}
	}
	return nil
}

func putCategoryTexts(ctx context.Context, tx *sql.Tx, id int64, texts map[string]consent.CategoryText) error {
	for lang, t := range texts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO category_texts (category_id, lang, name, description)
			VALUES (?, ?, ?, ?)`, id, lang, t.Name, t.Description); err != nil {
			return err
		}
	}
	return nil
}

// DeleteCategory removes a category that no event, consent or entry point
// refers to; consent.ErrInUse otherwise.
func (s *DB) DeleteCategory(ctx context.Context, id int64) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var slug string
		var used bool
		err := tx.QueryRowContext(ctx, `SELECT c.slug, `+categoryUsed+` FROM categories c WHERE c.id = ?`, id).Scan(&slug, &used)
		if err != nil {
			return err
		}
		offers, err := entryOffers(ctx, tx)
		if err != nil {
			return err
		}
		if used || len(offers[slug]) > 0 {
			return consent.ErrInUse
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM categories WHERE id = ?`, id)
		return err
	})
	if err == consent.ErrInUse {
		return err
	}
	return mapErr("delete category", err)
}

// FormWording returns the wording last chosen for the opt-in form in lang,
// or consent.ErrNotFound.
func (s *DB) FormWording(ctx context.Context, lang string) (consent.Wording, error) {
	var w consent.Wording
	err := s.r.QueryRowContext(ctx, `
		SELECT w.hash, w.kind, w.lang, w.version, w.text FROM form_wordings f
		JOIN wordings w ON w.hash = f.hash
		WHERE f.lang = ? ORDER BY f.id DESC LIMIT 1`, lang).
		Scan(&w.Hash, &w.Kind, &w.Lang, &w.Version, &w.Text)
	return w, mapErr("form wording", err)
}

// ChooseFormWording stores prev unless stored, then next as the next
// version of its kind and language, and records next as the form's wording
// in next.Lang. A text stored before as this kind and language keeps its
// version (the admin went back to it); as another, it is consent.ErrConflict.
func (s *DB) ChooseFormWording(ctx context.Context, prev, next consent.Wording, actor string, at time.Time) (consent.Wording, error) {
	var out consent.Wording
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var kind, lang string
		err := tx.QueryRowContext(ctx, `SELECT kind, lang FROM wordings WHERE hash = ?`, next.Hash).Scan(&kind, &lang)
		switch {
		case err == nil && (kind != next.Kind || lang != next.Lang):
			return consent.ErrConflict
		case err != nil && err != sql.ErrNoRows:
			return err
		}
		if prev.Hash != "" && prev.Hash != next.Hash {
			if err := s.ensureWording(ctx, tx, prev, at); err != nil {
				return err
			}
		}
		if err := s.ensureWording(ctx, tx, next, at); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO form_wordings (lang, hash, actor, chosen_at) VALUES (?, ?, ?, ?)`,
			next.Lang, next.Hash, actor, ts(at)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT hash, kind, lang, version, text FROM wordings WHERE hash = ?`, next.Hash).
			Scan(&out.Hash, &out.Kind, &out.Lang, &out.Version, &out.Text)
	})
	if err == consent.ErrConflict {
		return consent.Wording{}, err
	}
	return out, mapErr("choose form wording", err)
}

// FormWordingChosen reports whether hash was ever the form's wording in lang.
func (s *DB) FormWordingChosen(ctx context.Context, lang, hash string) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM form_wordings WHERE lang = ? AND hash = ?`, lang, hash).Scan(&n)
	return n > 0, mapErr("form wording chosen", err)
}

const wordingVersionColumns = `w.hash, w.kind, w.lang, w.version, w.text, w.created_at,
	(SELECT count(*) FROM events WHERE wording_hash = w.hash),
	EXISTS (SELECT 1 FROM form_wordings f WHERE f.hash = w.hash),
	coalesce((SELECT CASE WHEN f.hash = w.hash THEN 1 ELSE 0 END FROM form_wordings f WHERE f.lang = w.lang
		ORDER BY f.id DESC LIMIT 1), 0)`

// WordingVersions lists every stored wording by kind, language and newest
// version first, with the number of events that reference each.
func (s *DB) WordingVersions(ctx context.Context) ([]consent.WordingVersion, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+wordingVersionColumns+` FROM wordings w
		ORDER BY w.kind, w.lang, w.version DESC`)
	if err != nil {
		return nil, mapErr("wording versions", err)
	}
	defer rows.Close()
	var out []consent.WordingVersion
	for rows.Next() {
		v, err := scanWordingVersion(rows)
		if err != nil {
			return nil, mapErr("wording versions", err)
		}
		out = append(out, v)
	}
	return out, mapErr("wording versions", rows.Err())
}

// WordingVersion returns the stored wording with hash, or consent.ErrNotFound.
func (s *DB) WordingVersion(ctx context.Context, hash string) (consent.WordingVersion, error) {
	v, err := scanWordingVersion(s.r.QueryRowContext(ctx, `SELECT `+wordingVersionColumns+` FROM wordings w WHERE w.hash = ?`, hash))
	return v, mapErr("wording version", err)
}

func scanWordingVersion(r interface{ Scan(...any) error }) (consent.WordingVersion, error) {
	var v consent.WordingVersion
	var created string
	err := r.Scan(&v.Hash, &v.Kind, &v.Lang, &v.Version, &v.Text, &created, &v.Events, &v.Form, &v.Current)
	v.CreatedAt = parseTS(created)
	return v, err
}

var _ consent.CatalogStore = (*DB)(nil)
