package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

type ctxKey int

const apiKeyCtx ctxKey = iota

// requireAPIKey lets through requests with a valid Bearer key.
func (s *Server) requireAPIKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="optin"`)
			s.apiFail(w, r, &requestError{http.StatusUnauthorized, "unauthorized", "Send an API key as \"Authorization: Bearer <key>\"; create one with \"optin apikey create NAME\"."})
			return
		}
		key, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(token))
		if err == consent.ErrNotFound {
			w.Header().Set("WWW-Authenticate", `Bearer realm="optin", error="invalid_token"`)
			s.apiFail(w, r, &requestError{http.StatusUnauthorized, "unauthorized", "The API key is unknown or revoked."})
			return
		}
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiKeyCtx, key)))
	})
}

// apiContact is the JSON form of a contact (SPEC §3).
type apiContact struct {
	Phone           string                `json:"phone"`
	WaID            string                `json:"wa_id"`
	Status          consent.ContactStatus `json:"status"`
	Language        string                `json:"language"`
	WindowOpenUntil *time.Time            `json:"window_open_until"`
	Consents        map[string]apiConsent `json:"consents"`
}

type apiConsent struct {
	State  consent.State  `json:"state"`
	Since  time.Time      `json:"since"`
	Source consent.Source `json:"source"`
}

// handleAPIContactShow returns a contact and its consents.
func (s *Server) handleAPIContactShow(w http.ResponseWriter, r *http.Request) {
	v, err := s.svc.Contact(r.Context(), r.PathValue("phone"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	c := v.Contact
	out := apiContact{Phone: c.Phone, WaID: c.WaID, Status: c.Status, Language: c.Language,
		Consents: map[string]apiConsent{}}
	if !c.WindowOpenUntil.IsZero() {
		t := c.WindowOpenUntil
		out.WindowOpenUntil = &t
	}
	for _, cs := range v.Consents {
		out.Consents[cs.Category] = apiConsent{State: cs.State, Since: cs.Since, Source: cs.Source}
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPICheck answers whether a category may be sent to a number.
func (s *Server) handleAPICheck(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("phone") == "" || q.Get("category") == "" {
		s.apiFail(w, r, badRequest("missing_parameter", "Both phone and category are required."))
		return
	}
	res, err := s.svc.Check(r.Context(), q.Get("phone"), q.Get("category"))
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"allowed": res.Allowed, "reason": res.Reason})
}

func (s *Server) handleAPINotFound(w http.ResponseWriter, r *http.Request) {
	s.apiFail(w, r, &requestError{http.StatusNotFound, "not_found", "No such API route."})
}
