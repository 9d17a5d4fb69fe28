package web

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// Admin sessions live in a signed and encrypted cookie. A cookie cannot be
// revoked, so each carries its user's session version, which sign-out and a
// password change bump; every request checks it against the database.
const (
	sessionCookie   = "optin_admin"
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 12 * time.Hour
	// sessionTouch is how stale the last-seen time may get before the
	// cookie is re-issued, so that not every request sets a cookie.
	sessionTouch = time.Minute

	// Failed sign-ins allowed per account and per IP in signInWindow.
	signInPerAccount = 5
	signInPerIP      = 20
	signInWindow     = 15 * time.Minute
)

const adminCtx ctxKey = iota + 100

func newSessionStore(key []byte, secure bool) *sessions.CookieStore {
	if len(key) < 64 {
		key = make([]byte, 64)
		rand.Read(key)
	}
	st := sessions.NewCookieStore(key[:32], key[32:64])
	st.Options = &sessions.Options{
		Path:     "/admin",
		MaxAge:   int(sessionAbsolute / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	return st
}

// currentAdmin is the signed-in user of a request that passed viewer or
// adminOnly.
func currentAdmin(r *http.Request) consent.AdminUser {
	u, _ := r.Context().Value(adminCtx).(consent.AdminUser)
	return u
}

// viewer lets through requests of any signed-in user; others go to the
// sign-in page (browsers) or get 401.
func (s *Server) viewer(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.sessionUser(w, r)
		if !ok {
			s.toSignIn(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(context.WithValue(r.Context(), adminCtx, u)))
	})
}

// adminOnly is viewer for users with the admin role; viewers get 403.
func (s *Server) adminOnly(h http.HandlerFunc) http.Handler {
	return s.viewer(func(w http.ResponseWriter, r *http.Request) {
		if currentAdmin(r).Role != consent.RoleAdmin {
			s.renderAdminError(w, r, http.StatusForbidden)
			return
		}
		h(w, r)
	})
}

// sessionUser returns the user of a live session, re-issuing the cookie
// when its last-seen time is getting stale.
func (s *Server) sessionUser(w http.ResponseWriter, r *http.Request) (consent.AdminUser, bool) {
	sess, err := s.sessions.Get(r, sessionCookie)
	if err != nil || sess.IsNew {
		return consent.AdminUser{}, false
	}
	id, _ := sess.Values["uid"].(int64)
	ver, _ := sess.Values["ver"].(int64)
	issued, _ := sess.Values["iat"].(int64)
	seen, _ := sess.Values["seen"].(int64)
	now := s.cfg.Clock.Now()
	if id == 0 || now.Sub(time.Unix(issued, 0)) > sessionAbsolute || now.Sub(time.Unix(seen, 0)) > sessionIdle {
		return consent.AdminUser{}, false
	}
	u, err := s.svc.AdminSession(r.Context(), id, ver)
	if err != nil {
		if !errors.Is(err, consent.ErrNotFound) {
			s.log.Error("admin session check failed", "err", err)
		}
		return consent.AdminUser{}, false
	}
	if now.Sub(time.Unix(seen, 0)) > sessionTouch {
		sess.Values["seen"] = now.Unix()
		if err := sess.Save(r, w); err != nil {
			s.log.Error("session save failed", "err", err)
		}
	}
	return u, true
}

// startSession issues a new session cookie for u, replacing any other.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u consent.AdminUser) error {
	sess, _ := s.sessions.New(r, sessionCookie) // a fresh session, never the presented one
	now := s.cfg.Clock.Now().Unix()
	sess.Values = map[any]any{"uid": u.ID, "ver": u.SessionVersion, "iat": now, "seen": now}
	return sess.Save(r, w)
}

// endSessionCookie tells the browser to drop the session cookie.
func (s *Server) endSessionCookie(w http.ResponseWriter, r *http.Request) {
	sess, _ := s.sessions.New(r, sessionCookie)
	sess.Options.MaxAge = -1
	if err := sess.Save(r, w); err != nil {
		s.log.Error("session end failed", "err", err)
	}
}

func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		s.renderAdminError(w, r, http.StatusUnauthorized)
		return
	}
	next := r.URL.Path
	if r.URL.RawQuery != "" {
		next += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin") || strings.HasPrefix(next, "/admin/login") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return "/admin"
	}
	return next
}

func (s *Server) handleAdminLoginForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.sessionUser(w, r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	has, err := s.svc.HasAdmins(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	render(w, r, http.StatusOK, views.AdminLoginPage(views.AdminLoginModel{
		BusinessName: s.cfg.BusinessName, Next: safeNext(r.URL.Query().Get("next")), NoUsers: !has,
	}))
}

func (s *Server) handleAdminLoginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderAdminError(w, r, status(err))
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	m := views.AdminLoginModel{BusinessName: s.cfg.BusinessName, Email: email, Next: safeNext(r.PostForm.Get("next"))}
	now := s.cfg.Clock.Now()
	ip := clientIP(r)
	if s.signInByIP.exceeded(ip, now) || s.signInByUser.exceeded(email, now) {
		m.Error = "Too many failed sign-ins. Wait 15 minutes and try again, or ask another admin to check your account."
		render(w, r, http.StatusTooManyRequests, views.AdminLoginPage(m))
		return
	}
	u, err := s.svc.SignIn(r.Context(), email, r.PostForm.Get("password"))
	if errors.Is(err, consent.ErrBadCredentials) {
		s.signInByIP.allow(ip, now)
		s.signInByUser.allow(email, now)
		s.auditEntry(r, consent.AuditEntry{Action: "sign_in_failed", Target: "admin", IP: ip})
		m.Error = "The e-mail or password is not right. Check both and try again."
		render(w, r, http.StatusUnauthorized, views.AdminLoginPage(m))
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
	s.auditEntry(r, consent.AuditEntry{Actor: u.Email, ActorID: u.ID, Action: "sign_in", Target: "admin", IP: ip})
	http.Redirect(w, r, m.Next, http.StatusSeeOther)
}

// handleAdminLogout ends every session of the user: a cookie store cannot
// forget one cookie, so the user's session version moves on.
func (s *Server) handleAdminLogout(w http.ResponseWriter, r *http.Request) {
	u := currentAdmin(r)
	if err := s.svc.SignOut(r.Context(), u.ID); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	s.audit(r, "sign_out", "admin", nil)
	s.endSessionCookie(w, r)
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}
