package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

var apiKeyErrors = map[string]string{
	"apikey.name":  "Give the key a name of 1 to 100 characters, such as the system that uses it.",
	"apikey.scope": "Choose read or write.",
}

// apiKeysModel lists the keys.
func (s *Server) apiKeysModel(r *http.Request) (views.AdminAPIKeysModel, error) {
	keys, err := s.svc.APIKeys(r.Context())
	if err != nil {
		return views.AdminAPIKeysModel{}, err
	}
	m := views.AdminAPIKeysModel{Layout: s.adminLayout(r, "API keys", "api_keys")}
	for _, k := range keys {
		row := views.AdminAPIKeyRow{ID: strconv.FormatInt(k.ID, 10), Name: k.Name, Prefix: k.Prefix, Scope: k.Scope,
			Created: consoleTimeOr(k.CreatedAt, "never"), LastUsed: consoleTimeOr(k.LastUsedAt, "never")}
		if !k.RevokedAt.IsZero() {
			row.Revoked = consoleTimeOr(k.RevokedAt, "never")
		}
		m.Keys = append(m.Keys, row)
	}
	return m, nil
}

// handleAPIKeyList shows the API keys.
func (s *Server) handleAPIKeyList(w http.ResponseWriter, r *http.Request) {
	m, err := s.apiKeysModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if r.URL.Query().Get("done") == "revoked" {
		m.Layout.Flash = "Key revoked. The API refuses it from now on."
	}
	render(w, r, http.StatusOK, views.AdminAPIKeysPage(m))
}

// handleAPIKeyCreate creates a key and shows it, this once: the page is
// rendered, not redirected to, since the key is never stored in clear.
func (s *Server) handleAPIKeyCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	name, scope := r.PostForm.Get("name"), r.PostForm.Get("scope")
	key, k, err := s.svc.CreateAPIKey(r.Context(), name, scope)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m, lerr := s.apiKeysModel(r)
		if lerr != nil {
			s.failAdmin(w, r, lerr)
			return
		}
		errs := map[string]string{}
		for f, code := range verr.Fields {
			errs[f] = apiKeyErrors[code]
		}
		m.Form = views.AdminAPIKeyForm{Name: name, Scope: scope, Errors: errs}
		render(w, r, http.StatusUnprocessableEntity, views.AdminAPIKeysPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "api_key_create", k.Name, map[string]any{"id": k.ID, "prefix": k.Prefix, "scope": k.Scope})
	m, err := s.apiKeysModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m.Created = &views.AdminAPIKeyCreated{Name: k.Name, Scope: k.Scope, Key: key}
	render(w, r, http.StatusOK, views.AdminAPIKeysPage(m))
}

// handleAPIKeyRevoke revokes a key after a confirmation step.
func (s *Server) handleAPIKeyRevoke(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.renderAdminError(w, r, http.StatusNotFound)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		keys, err := s.svc.APIKeys(r.Context())
		if err != nil {
			s.failAdmin(w, r, err)
			return
		}
		for _, k := range keys {
			if k.ID == id {
				render(w, r, http.StatusOK, views.AdminConfirmPage(views.AdminConfirmModel{
					Layout: s.adminLayout(r, "Revoke API key", "api_keys"), Title: "Revoke the key “" + k.Name + "”?",
					Message: "Systems using it (" + k.Prefix + "…) are refused from their next request on. This cannot be undone.",
					Action:  r.URL.Path, Button: "Revoke key", Danger: true, CancelURL: "/admin/api-keys",
				}))
				return
			}
		}
		s.renderAdminError(w, r, http.StatusNotFound)
		return
	}
	k, err := s.svc.RevokeAPIKey(r.Context(), id)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "api_key_revoke", k.Name, map[string]any{"id": k.ID, "prefix": k.Prefix})
	http.Redirect(w, r, "/admin/api-keys?done=revoked", http.StatusSeeOther)
}
