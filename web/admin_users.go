package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// adminUserErrors are the user forms' messages by validation key.
var adminUserErrors = map[string]string{
	"admin.email":           "Give an e-mail address such as ann@example.com.",
	"admin.role":            "Choose admin or viewer.",
	"admin.password_length": "Use at least 12 characters.",
	"admin.password_wrong":  "This is not your current password.",
	"admin.password_repeat": "The two new passwords differ.",
	"admin.email_taken":     "A user with this e-mail exists already.",
	"admin.last_admin":      "This is the last active admin: make another user admin first, so that someone can still change the console.",
}

func adminUserMessages(fields map[string]string) map[string]string {
	out := map[string]string{}
	for f, k := range fields {
		if msg, ok := adminUserErrors[k]; ok {
			out[f] = msg
		} else {
			out[f] = "This value is not valid."
		}
	}
	return out
}

// usersModel lists the users for the signed-in one.
func (s *Server) usersModel(r *http.Request) (views.AdminUsersModel, error) {
	users, err := s.svc.ListAdmins(r.Context())
	if err != nil {
		return views.AdminUsersModel{}, err
	}
	me := currentAdmin(r)
	m := views.AdminUsersModel{Layout: s.adminLayout(r, "Users", "users")}
	for _, u := range users {
		m.Users = append(m.Users, views.AdminUserRow{ID: strconv.FormatInt(u.ID, 10), Email: u.Email, Role: string(u.Role),
			Created: consoleTimeOr(u.CreatedAt, "never"), LastSignIn: consoleTimeOr(u.LastLoginAt, "never"), Active: u.Active(),
			Revoked: consoleTimeOr(u.DisabledAt, "never"), Self: u.ID == me.ID})
	}
	return m, nil
}

// handleUserList shows the console users.
func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	m, err := s.usersModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "role":
		m.Layout.Flash = "Role changed. The user's open sessions ended; the new role applies when they sign in again."
	case "revoked":
		m.Layout.Flash = "User revoked. Their sessions ended and they can no longer sign in."
	}
	render(w, r, http.StatusOK, views.AdminUsersPage(m))
}

// handleUserCreate adds a console user. The page answering it shows a
// generated password once, so it is rendered rather than redirected to.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	email, role, password := r.PostForm.Get("email"), consent.Role(r.PostForm.Get("role")), r.PostForm.Get("password")
	u, pw, err := s.svc.AddAdmin(r.Context(), email, password, role)
	var verr *consent.ValidationError
	if errors.As(err, &verr) || errors.Is(err, consent.ErrConflict) {
		m, lerr := s.usersModel(r)
		if lerr != nil {
			s.failAdmin(w, r, lerr)
			return
		}
		fields := map[string]string{"email": "admin.email_taken"}
		if verr != nil {
			fields = verr.Fields
		}
		m.Form = views.AdminUserForm{Email: email, Role: string(role), Errors: adminUserMessages(fields)}
		render(w, r, http.StatusUnprocessableEntity, views.AdminUsersPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "user_create", u.Email, map[string]any{"role": u.Role, "password_generated": password == ""})
	m, err := s.usersModel(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	m.Created = &views.AdminUserCreated{Email: u.Email, Role: string(u.Role), Password: pw, Generated: password == ""}
	render(w, r, http.StatusOK, views.AdminUsersPage(m))
}

// handleUserRole changes a user's role.
func (s *Server) handleUserRole(w http.ResponseWriter, r *http.Request) {
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
	u, err := s.svc.SetAdminRole(r.Context(), id, consent.Role(r.PostForm.Get("role")))
	if s.userChangeRefused(w, r, err) {
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "user_role", u.Email, map[string]any{"role": u.Role})
	http.Redirect(w, r, "/admin/users?done=role", http.StatusSeeOther)
}

// handleUserRevoke disables a user after a confirmation step.
func (s *Server) handleUserRevoke(w http.ResponseWriter, r *http.Request) {
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
		u, err := s.svc.AdminByID(r.Context(), id)
		if err != nil {
			s.failAdmin(w, r, err)
			return
		}
		render(w, r, http.StatusOK, views.AdminConfirmPage(views.AdminConfirmModel{
			Layout: s.adminLayout(r, "Revoke user", "users"), Title: "Revoke " + u.Email + "?",
			Message: "They are signed out at once and can no longer sign in. Their past acts stay in the audit log.",
			Action:  r.URL.Path, Button: "Revoke user", Danger: true, CancelURL: "/admin/users",
		}))
		return
	}
	u, err := s.svc.RevokeAdmin(r.Context(), id)
	if s.userChangeRefused(w, r, err) {
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "user_revoke", u.Email, nil)
	if u.ID == currentAdmin(r).ID {
		s.endSessionCookie(w, r)
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/users?done=revoked", http.StatusSeeOther)
}

// userChangeRefused shows the users page with the reason when a role change
// or revocation was refused (422), and reports whether it did.
func (s *Server) userChangeRefused(w http.ResponseWriter, r *http.Request, err error) bool {
	var verr *consent.ValidationError
	if !errors.As(err, &verr) {
		return false
	}
	m, lerr := s.usersModel(r)
	if lerr != nil {
		s.failAdmin(w, r, lerr)
		return true
	}
	for _, msg := range adminUserMessages(verr.Fields) {
		m.Error = msg
	}
	render(w, r, http.StatusUnprocessableEntity, views.AdminUsersPage(m))
	return true
}

// handleAccountShow is the change-your-password page.
func (s *Server) handleAccountShow(w http.ResponseWriter, r *http.Request) {
	m := views.AdminAccountModel{Layout: s.adminLayout(r, "Account", "")}
	if r.URL.Query().Get("changed") != "" {
		m.Layout.Flash = "Password changed. Every other session of yours has ended."
	}
	render(w, r, http.StatusOK, views.AdminAccountPage(m))
}

// handleAccountPassword changes the signed-in user's password. Every
// session of the user ends; this one is issued anew, so it stays signed in.
func (s *Server) handleAccountPassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	me := currentAdmin(r)
	next := r.PostForm.Get("password")
	var u consent.AdminUser
	var err error
	if next != r.PostForm.Get("password2") {
		err = &consent.ValidationError{Fields: map[string]string{"password2": "admin.password_repeat"}}
	} else {
		// The current password is checked like a sign-in: the same limits
		// for the account and the IP, the same bound on running checks.
		gate, ok := s.openPasswordGate(clientIP(r), me.Email)
		if !ok {
			gate.setRetryAfter(w)
			msg := "Too many password checks are running right now. Wait a moment and try again."
			if gate.tooManyTries {
				msg = "Too many wrong passwords. Wait 15 minutes and try again."
			}
			render(w, r, http.StatusTooManyRequests, views.AdminAccountPage(views.AdminAccountModel{
				Layout: s.adminLayout(r, "Account", ""), Errors: map[string]string{"current": msg}}))
			return
		}
		u, err = s.svc.ChangePassword(r.Context(), me.ID, r.PostForm.Get("current"), next)
		var verr *consent.ValidationError
		gate.close(!errors.As(err, &verr) || verr.Fields["current"] == "")
	}
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		render(w, r, http.StatusUnprocessableEntity, views.AdminAccountPage(views.AdminAccountModel{
			Layout: s.adminLayout(r, "Account", ""), Errors: adminUserMessages(verr.Fields)}))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if err := s.startSession(w, r, u); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "password_change", u.Email, nil)
	http.Redirect(w, r, "/admin/account?changed=1", http.StatusSeeOther)
}

// pathID reads the {id} of the route.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}
