package web

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// adminLayout builds the console's page frame for the signed-in user.
func (s *Server) adminLayout(r *http.Request, title, section string) views.AdminLayoutModel {
	u := currentAdmin(r)
	return views.AdminLayoutModel{
		Title:        title,
		Section:      section,
		BusinessName: s.cfg.BusinessName,
		UserEmail:    u.Email,
		Role:         string(u.Role),
		CanChange:    u.Role == consent.RoleAdmin,
		Sandbox:      s.cfg.Sandbox != nil,
	}
}

// audit records an admin's act in the audit log, after the act: a failure
// is logged, and the act stands. detail is marshalled to JSON; it must never
// hold secrets.
func (s *Server) audit(r *http.Request, action, target string, detail any) {
	if err := s.auditFirst(r, action, target, detail); err != nil {
		s.log.Error("audit failed", "action", action, "err", err)
	}
}

// auditEntry records an entry made before anyone is signed in (sign-in
// attempts); a failure is logged.
func (s *Server) auditEntry(r *http.Request, e consent.AuditEntry) {
	if err := s.svc.Audit(r.Context(), e); err != nil {
		s.log.Error("audit failed", "action", e.Action, "err", err)
	}
}

// auditFirst records an admin's act in the audit log before the act, which
// must not happen unrecorded: the caller stops on an error (exports,
// erasures, verifications).
func (s *Server) auditFirst(r *http.Request, action, target string, detail any) error {
	u := currentAdmin(r)
	d := "{}"
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return err
		}
		d = string(b)
	}
	return s.svc.Audit(r.Context(), consent.AuditEntry{Actor: u.Email, ActorID: u.ID, Action: action, Target: target,
		Detail: d, IP: clientIP(r)})
}

// showPhone is how a number appears to u: whole for admins, masked for
// viewers.
func showPhone(u consent.AdminUser, phone string) string {
	if u.Role == consent.RoleAdmin {
		return phone
	}
	return maskPhone(phone)
}

// failAdmin answers a console request that went wrong, logging unexpected
// errors once.
func (s *Server) failAdmin(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code == http.StatusInternalServerError {
		s.log.Error("admin request failed", "route", r.Pattern, "err", err)
	}
	s.renderAdminError(w, r, code)
}

// renderAdminError shows the console's error page.
func (s *Server) renderAdminError(w http.ResponseWriter, r *http.Request, code int) {
	m := views.AdminErrorModel{Code: code, Title: http.StatusText(code)}
	switch code {
	case http.StatusForbidden:
		m.Message = "Your role can see this but not change it. Ask an admin to make the change, or to give you the admin role."
	case http.StatusUnauthorized:
		m.Message = "Your session has ended. Sign in again."
	case http.StatusNotFound:
		m.Message = "There is nothing here. It may have been erased, or the link is wrong."
	case http.StatusRequestEntityTooLarge:
		m.Message = "What you sent is too large."
	case http.StatusInternalServerError:
		m.Message = "Something went wrong on our side. Try again in a moment."
	default:
		m.Message = "The request could not be handled."
	}
	if u := currentAdmin(r); u.ID != 0 {
		m.Layout = s.adminLayout(r, m.Title, "")
	}
	render(w, r, code, views.AdminErrorPage(m))
}

// How the console shows times: always in UTC, to the minute unless a page
// needs seconds; adminDate is also the format of its date filters.
const (
	adminDate = "2006-01-02"
	adminTime = "2006-01-02 15:04 UTC"
)

// consoleTime shows a time as adminTime, "" for the zero time.
func consoleTime(t time.Time) string { return consoleTimeOr(t, "") }

// consoleTimeOr is consoleTime with none in place of the zero time.
func consoleTimeOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.UTC().Format(adminTime)
}

// listTime is consoleTime without the zone, for table columns whose
// header says UTC.
func listTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// adminSeconds shows a time to the second.
func adminSeconds(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}
