package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// handleWordingShow lists the opt-in form's consent wording per language
// with its versions, and the terms prompt's versions.
func (s *Server) handleWordingShow(w http.ResponseWriter, r *http.Request) {
	m, err := s.wordingPage(r, "", "", "")
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	render(w, r, http.StatusOK, views.WordingPage(m))
}

// handleWordingUpdate saves a new version of the form's wording in one
// language. Bad input shows the page again with 422 and stores nothing.
func (s *Server) handleWordingUpdate(w http.ResponseWriter, r *http.Request) {
	if !s.parseCatalogForm(w, r) {
		return
	}
	lang, text := r.PostForm.Get("lang"), r.PostForm.Get("text")
	if !i18n.Supported(lang) {
		s.renderAdminError(w, r, http.StatusBadRequest)
		return
	}
	before, err := s.svc.FormWording(r.Context(), lang)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	u := currentAdmin(r)
	saved, err := s.svc.SetFormWording(r.Context(), lang, text, "admin:"+u.Email)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m, err := s.wordingPage(r, lang, truncate(text, 4*consent.MaxWordingRunes), catalogErrors(verr)["text"])
		if err != nil {
			s.failAdmin(w, r, err)
			return
		}
		render(w, r, http.StatusUnprocessableEntity, views.WordingPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "wording_update", "wording:consent:"+lang, map[string]any{"lang": lang,
		"before": before.Hash, "after": saved.Hash, "version": saved.Version})
	http.Redirect(w, r, "/admin/wording?done=saved#lang-"+lang, http.StatusSeeOther)
}

// wordingPage builds the wording page; for lang, the edit field holds text
// and shows problem (after a refused edit).
func (s *Server) wordingPage(r *http.Request, lang, text, problem string) (views.WordingPageModel, error) {
	versions, err := s.svc.WordingVersions(r.Context())
	if err != nil {
		return views.WordingPageModel{}, err
	}
	m := views.WordingPageModel{Layout: s.catalogLayout(r, "Consent wording", "wording")}
	for _, l := range i18n.Languages {
		cur, err := s.svc.FormWording(r.Context(), l)
		if err != nil {
			return views.WordingPageModel{}, err
		}
		lm := views.WordingLangModel{Lang: l, LangName: i18n.Name(l), Text: cur.Text,
			Current: views.WordingVersionModel{Hash: cur.Hash, Text: cur.Text, Version: cur.Version}}
		for _, v := range versions {
			if v.Kind != "consent" || v.Lang != l {
				continue
			}
			vm := wordingVersionModel(v)
			// Until an admin chooses one, the form shows the built-in text,
			// which is stored with the first opt-in.
			vm.Current = v.Hash == cur.Hash
			if vm.Current {
				lm.Stored, lm.Current = true, vm
			}
			lm.Versions = append(lm.Versions, vm)
		}
		if l == lang {
			lm.Text, lm.Error = text, problem
		}
		m.Languages = append(m.Languages, lm)
	}
	for _, v := range versions {
		if v.Kind == "terms" {
			m.Terms = append(m.Terms, wordingVersionModel(v))
		}
	}
	return m, nil
}

func wordingVersionModel(v consent.WordingVersion) views.WordingVersionModel {
	return views.WordingVersionModel{Hash: v.Hash, Kind: v.Kind, Lang: v.Lang, LangName: i18n.Name(v.Lang),
		Version: v.Version, Text: v.Text, CreatedAt: consoleTime(v.CreatedAt), Events: v.Events,
		Form: v.Form, Current: v.Current}
}

// handleWordingVersionShow shows one stored wording exactly, as referenced
// by events (the contact page links here).
func (s *Server) handleWordingVersionShow(w http.ResponseWriter, r *http.Request) {
	v, err := s.svc.WordingVersion(r.Context(), r.PathValue("hash"))
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	vm := wordingVersionModel(v)
	if v.Kind == "consent" {
		// The built-in text is current without ever having been chosen.
		if cur, err := s.svc.FormWording(r.Context(), v.Lang); err == nil && cur.Hash == v.Hash {
			vm.Current = true
		}
	}
	title := "Consent wording, version " + strconv.Itoa(v.Version)
	if v.Kind == "terms" {
		title = "Terms prompt, version " + strconv.Itoa(v.Version)
	}
	render(w, r, http.StatusOK, views.WordingShowPage(views.WordingShowModel{
		Layout: s.catalogLayout(r, title, "wording"), Title: title, Version: vm}))
}
