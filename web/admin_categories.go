package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// maxCatalogFormBytes bounds the catalog's form posts: four languages of
// names and descriptions, or a wording of 2,000 characters, fit many times.
const maxCatalogFormBytes = 64 << 10

// catalogMessages are the console's sentences for the catalog's validation
// keys (the console is English-only).
var catalogMessages = map[string]string{
	"slug.invalid":         "Use lower-case letters, digits and _, starting with a letter; at most 40 characters.",
	"slug.taken":           "Another category has this slug.",
	"slug.fixed":           "This slug is fixed: events or consents refer to it. Change the names instead.",
	"position.invalid":     "Use a whole number from 0 to 9999.",
	"name.required":        "An English name is required: it is shown wherever a language has none.",
	"name.missing":         "Give a name in this language, or leave its description empty too.",
	"name.too_long":        "At most 60 characters.",
	"description.too_long": "At most 300 characters.",
	"wording.missing":      "Write the wording.",
	"wording.too_long":     "At most 2,000 characters.",
	"wording.unchanged":    "This is the text shown now. Change it to save a new version.",
	"wording.elsewhere":    "This exact text is already stored for another language or as the terms. Each language needs its own text.",
	"entry.code":           "Use 3–10 characters of A–Z and 2–9.",
	"entry.code.taken":     "An entry point with this code exists.",
	"entry.name":           "Give a name of 1–100 characters.",
	"entry.categories":     "Choose at least one category.",
	"text.invalid_chars":   "Remove the NUL character or the bytes that are not UTF-8 text.",
	"category.too_many":    fmt.Sprintf("There are %d categories already, the most optin keeps: every category is a checkbox on the form. Delete an unused one first.", consent.MaxCategories),
}

// catalogErrors turns a validation error into messages per field.
func catalogErrors(verr *consent.ValidationError) map[string]string {
	out := map[string]string{}
	for field, key := range verr.Fields {
		msg, ok := catalogMessages[key]
		if !ok {
			msg = "Check this field."
		}
		out[field] = msg
	}
	return out
}

// catalogFlash is the confirmation shown after a change, chosen by a fixed
// key so that nothing from the query string is echoed.
var catalogFlash = map[string]string{
	"created": "Created.",
	"saved":   "Saved.",
	"deleted": "Deleted.",
}

func (s *Server) catalogLayout(r *http.Request, title, section string) views.AdminLayoutModel {
	l := s.adminLayout(r, title, section)
	l.Flash = catalogFlash[r.URL.Query().Get("done")]
	return l
}

// parseCatalogForm reads a console form post, answering 413 or 400 itself.
func (s *Server) parseCatalogForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxCatalogFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.renderAdminError(w, r, http.StatusRequestEntityTooLarge)
		} else {
			s.renderAdminError(w, r, http.StatusBadRequest)
		}
		return false
	}
	return true
}

// handleCategoryList lists the categories.
func (s *Server) handleCategoryList(w http.ResponseWriter, r *http.Request) {
	cats, err := s.svc.AdminCategories(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m := views.CategoryListModel{Layout: s.catalogLayout(r, "Categories", "categories")}
	for _, c := range cats {
		m.Categories = append(m.Categories, views.CategoryRowModel{ID: strconv.FormatInt(c.ID, 10), Slug: c.Slug,
			Name: c.Texts["en"].Name, Marketing: c.Marketing, Position: c.Position, Used: c.Used, OptedIn: c.OptedIn,
			EntryPoints: c.EntryPoints})
	}
	render(w, r, http.StatusOK, views.CategoryListPage(m))
}

// handleCategoryNew shows the empty form.
func (s *Server) handleCategoryNew(w http.ResponseWriter, r *http.Request) {
	m := s.categoryForm(r, consent.CategoryDetail{}, true)
	render(w, r, http.StatusOK, views.CategoryFormPage(m))
}

// handleCategoryCreate stores a new category.
func (s *Server) handleCategoryCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseCatalogForm(w, r) {
		return
	}
	in := categoryInput(r)
	id, err := s.svc.CreateCategory(r.Context(), in)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m := s.categoryForm(r, consent.CategoryDetail{}, true)
		fillCategoryForm(&m, r, verr)
		render(w, r, http.StatusUnprocessableEntity, views.CategoryFormPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	slug := strings.TrimSpace(in.Slug)
	s.audit(r, "category_create", "category:"+slug, map[string]any{"id": id, "slug": slug, "marketing": in.Marketing,
		"position": in.Position, "texts": in.Texts})
	http.Redirect(w, r, "/admin/categories?done=created", http.StatusSeeOther)
}

// handleCategoryEdit shows a category's form.
func (s *Server) handleCategoryEdit(w http.ResponseWriter, r *http.Request) {
	c, ok := s.categoryFromPath(w, r)
	if !ok {
		return
	}
	render(w, r, http.StatusOK, views.CategoryFormPage(s.categoryForm(r, c, false)))
}

// handleCategoryUpdate applies an admin's change to a category.
func (s *Server) handleCategoryUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.categoryFromPath(w, r)
	if !ok || !s.parseCatalogForm(w, r) {
		return
	}
	in := categoryInput(r)
	err := s.svc.UpdateCategory(r.Context(), c.ID, in)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m := s.categoryForm(r, c, false)
		fillCategoryForm(&m, r, verr)
		render(w, r, http.StatusUnprocessableEntity, views.CategoryFormPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "category_update", "category:"+c.Slug, map[string]any{"id": c.ID,
		"before": map[string]any{"slug": c.Slug, "marketing": c.Marketing, "position": c.Position, "texts": c.Texts},
		"after":  map[string]any{"slug": strings.TrimSpace(in.Slug), "marketing": in.Marketing, "position": in.Position, "texts": in.Texts}})
	http.Redirect(w, r, "/admin/categories?done=saved", http.StatusSeeOther)
}

// handleCategoryDelete asks for confirmation, then deletes an unused
// category. A used one is refused with 409 and stays.
func (s *Server) handleCategoryDelete(w http.ResponseWriter, r *http.Request) {
	c, ok := s.categoryFromPath(w, r)
	if !ok || !s.parseCatalogForm(w, r) {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		id := strconv.FormatInt(c.ID, 10)
		render(w, r, http.StatusOK, views.AdminConfirmPage(views.AdminConfirmModel{
			Layout: s.catalogLayout(r, "Delete "+c.Slug, "categories"), Title: "Delete " + c.Slug + "?",
			Message: "“" + c.Texts["en"].Name + "” will no longer exist. Nobody has used it, so no record refers to it.",
			Action:  "/admin/categories/" + id + "/delete", Button: "Delete", Danger: true,
			CancelURL: "/admin/categories/" + id}))
		return
	}
	err := s.svc.DeleteCategory(r.Context(), c.ID)
	if errors.Is(err, consent.ErrInUse) {
		m := s.categoryForm(r, c, false)
		m.Errors = map[string]string{"delete": m.DeleteBlocked}
		render(w, r, http.StatusConflict, views.CategoryFormPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "category_delete", "category:"+c.Slug, map[string]any{"id": c.ID, "slug": c.Slug, "texts": c.Texts})
	http.Redirect(w, r, "/admin/categories?done=deleted", http.StatusSeeOther)
}

// categoryFromPath loads the category {id}, answering 404 itself.
func (s *Server) categoryFromPath(w http.ResponseWriter, r *http.Request) (consent.CategoryDetail, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.renderAdminError(w, r, http.StatusNotFound)
		return consent.CategoryDetail{}, false
	}
	c, err := s.svc.AdminCategory(r.Context(), id)
	if err != nil {
		s.failAdmin(w, r, err)
		return consent.CategoryDetail{}, false
	}
	return c, true
}

// categoryInput reads the category form: slug, marketing, position, and
// name.LANG / description.LANG for every supported language.
func categoryInput(r *http.Request) consent.CategoryInput {
	f := r.PostForm
	in := consent.CategoryInput{Slug: f.Get("slug"), Marketing: f.Get("marketing") != "",
		Texts: map[string]consent.CategoryText{}}
	if p := strings.TrimSpace(f.Get("position")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			n = -1 // reported as position.invalid
		}
		in.Position = n
	}
	for _, lang := range i18n.Languages {
		in.Texts[lang] = consent.CategoryText{Name: f.Get("name." + lang), Description: f.Get("description." + lang)}
	}
	return in
}

// categoryForm is the form for c (empty when isNew) as stored.
func (s *Server) categoryForm(r *http.Request, c consent.CategoryDetail, isNew bool) views.CategoryFormModel {
	title := "New category"
	action := "/admin/categories"
	if !isNew {
		title = "Category " + c.Slug
		action = "/admin/categories/" + strconv.FormatInt(c.ID, 10)
	}
	m := views.CategoryFormModel{Layout: s.catalogLayout(r, title, "categories"), New: isNew,
		ID: strconv.FormatInt(c.ID, 10), Action: action, Slug: c.Slug, SlugFixed: c.Used, Marketing: c.Marketing}
	if !isNew {
		m.Position = strconv.Itoa(c.Position)
		switch {
		case c.Used:
			m.DeleteBlocked = "It can't be deleted: events or consents refer to it, and they are kept as evidence."
		case len(c.EntryPoints) > 0:
			m.DeleteBlocked = "It can't be deleted while an entry point offers it: " + strings.Join(c.EntryPoints, ", ") + "."
		default:
			m.Deletable = true
		}
	}
	for _, lang := range i18n.Languages {
		t := c.Texts[lang]
		m.Texts = append(m.Texts, views.CategoryTextModel{Lang: lang, LangName: i18n.Name(lang), Name: t.Name,
			Description: t.Description, Required: lang == "en"})
	}
	return m
}

// fillCategoryForm puts what was submitted back in the form, with the errors.
func fillCategoryForm(m *views.CategoryFormModel, r *http.Request, verr *consent.ValidationError) {
	f := r.PostForm
	if !m.SlugFixed {
		m.Slug = truncate(f.Get("slug"), 64)
	}
	m.Marketing = f.Get("marketing") != ""
	m.Position = truncate(f.Get("position"), 8)
	for i := range m.Texts {
		m.Texts[i].Name = truncate(f.Get("name."+m.Texts[i].Lang), 200)
		m.Texts[i].Description = truncate(f.Get("description."+m.Texts[i].Lang), 1000)
	}
	m.Errors = catalogErrors(verr)
}
