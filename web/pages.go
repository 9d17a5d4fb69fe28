package web

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"

	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// render writes a component with the given status. It renders into a
// buffer first so that a failing component yields a clean 500, not half a page.
func render(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		http.Error(w, "Something went wrong. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

// layout builds the page frame for lang, with language links that keep the
// current query.
func (s *Server) layout(r *http.Request, lang, title string, embed bool) views.LayoutModel {
	m := views.LayoutModel{
		Lang:         lang,
		Title:        title,
		BusinessName: s.cfg.BusinessName,
		Embed:        embed,
		T:            func(key string, args ...any) string { return i18n.T(lang, key, args...) },
	}
	for _, code := range i18n.Languages {
		q := url.Values{}
		if r.Method == http.MethodGet {
			q = r.URL.Query()
		}
		q.Set("lang", code)
		q.Del("phone") // a number never travels in a link a person may share
		path := r.URL.Path
		if r.Method != http.MethodGet {
			path = "/optin"
		}
		m.Languages = append(m.Languages, views.LangOption{
			Code: code, Name: i18n.Name(code), URL: path + "?" + q.Encode(), Current: code == lang,
		})
	}
	return m
}

// renderError shows the error page for code in the person's language.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, code int) {
	lang := i18n.Match(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	key := "error.500"
	switch code {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		key = map[int]string{400: "error.400", 404: "error.404", 413: "error.413", 429: "error.429"}[code]
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "3600")
	}
	m := views.ErrorModel{
		Layout:  s.layout(r, lang, i18n.T(lang, key+".title"), r.URL.Query().Get("embed") == "1"),
		Status:  code,
		Heading: i18n.T(lang, key+".title"),
		Message: i18n.T(lang, key+".body"),
		BackURL: "/optin?lang=" + lang,
	}
	render(w, r, code, views.ErrorPage(m))
}

// handleTerms shows the terms a person accepts by opting in.
func (s *Server) handleTerms(w http.ResponseWriter, r *http.Request) {
	lang := i18n.Match(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	m := views.TermsModel{
		Layout: s.layout(r, lang, i18n.T(lang, "terms.title"), false),
		Text:   i18n.T(lang, "terms.body", s.cfg.BusinessName),
	}
	if text, ok := s.svc.TermsText(lang); ok { // an admin's terms (settings)
		m.Text = text
	}
	render(w, r, http.StatusOK, views.TermsPage(m))
}

// handleHome sends visitors to the form.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/optin", http.StatusFound)
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound)
}

// handleHealth answers 200 when the database answers.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if s.cfg.Health != nil {
		if err := s.cfg.Health(ctx); err != nil {
			s.log.Error("health check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}
