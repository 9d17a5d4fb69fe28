// Package web is optin's HTTP surface: the public opt-in form, the JSON API,
// the webhook intake and (with the sandbox provider) the phone simulator.
// routes.go lists every route; handlers are grouped by area.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/sessions"

	"github.com/optin/optin/consent"
)

// Config is what the HTTP layer needs beyond the service.
type Config struct {
	BaseURL       string
	BusinessName  string
	DefaultRegion string
	Provider      string
	// WebhookSecret is compared with the X-Optin-Secret header of webhook calls.
	WebhookSecret string
	// AppSecret verifies Meta's X-Hub-Signature-256; VerifyToken answers its handshake.
	AppSecret   string
	VerifyToken string
	// FrameOrigins may embed the form in an iframe.
	FrameOrigins []string
	// TrustedProxies are the reverse proxies whose Forwarded,
	// X-Forwarded-For and X-Forwarded-Proto headers optin believes.
	TrustedProxies []netip.Prefix
	// FormLimit is the submissions allowed per IP and per number per hour; 0 is no limit.
	FormLimit int
	// LinkKey signs the thank-you page's parameters.
	LinkKey []byte
	// SessionKey (64 bytes: 32 to sign, 32 to encrypt) protects admin
	// session cookies; a random key is made when it is shorter.
	SessionKey []byte
	// MetricsToken, when set, is the bearer token /metrics wants.
	MetricsToken string
	// Health reports whether the database answers.
	Health func(context.Context) error
	// Sandbox, when set, adds the phone simulator's routes (only the
	// sandbox provider has one).
	Sandbox interface{ Register(*http.ServeMux) }
	// SandboxAdminOnly puts the sandbox behind admin sign-in: its chat list
	// shows every number and preference link.
	SandboxAdminOnly bool
	Version          string
	Clock            consent.Clock
	// Limits, when set, keeps the counts of the form and sign-in limits
	// in the database, so that every instance of an installation counts
	// together; nil keeps them in this process's memory.
	Limits LimitStore
}

// Server serves optin over HTTP.
type Server struct {
	cfg       Config
	svc       *consent.Service
	log       *slog.Logger
	handler   http.Handler
	limits    *limiter
	countries *countryLists
	secure    bool

	sessions     *sessions.CookieStore
	signInByUser *limiter // failed sign-ins per account
	signInByIP   *limiter // failed sign-ins per client IP
	// passwordChecks holds a place per argon2id check running.
	passwordChecks chan struct{}

	metrics   *metrics  // request and webhook counts since start
	plainHTTP sync.Once // warns once when a proxy forwards plain http
	ledger    ledgerRunner
}

// New returns a Server for svc.
func New(cfg Config, svc *consent.Service, log *slog.Logger) *Server {
	if cfg.Clock == nil {
		cfg.Clock = consent.SystemClock{}
	}
	s := &Server{
		cfg:       cfg,
		svc:       svc,
		log:       log,
		limits:    newLimiter(cfg.FormLimit, time.Hour),
		countries: newCountryLists(),
		secure:    strings.HasPrefix(cfg.BaseURL, "https://"),

		signInByUser:   newLimiter(signInPerAccount, signInWindow),
		signInByIP:     newLimiter(signInPerIP, signInWindow),
		passwordChecks: make(chan struct{}, passwordChecksAtOnce),
		metrics:        newMetrics(),
	}
	// The session cookie goes where the console is; a sandbox behind
	// sign-in needs it under /sandbox too.
	cookiePath := "/admin"
	if cfg.Sandbox != nil && cfg.SandboxAdminOnly {
		cookiePath = "/"
	}
	if cfg.Limits != nil {
		s.limits.share(cfg.Limits, "form", cfg.LinkKey, log)
		s.signInByUser.share(cfg.Limits, "signin_user", cfg.LinkKey, log)
		s.signInByIP.share(cfg.Limits, "signin_ip", cfg.LinkKey, log)
	}
	s.sessions = newSessionStore(cfg.SessionKey, s.secure, cookiePath)
	s.handler = s.routes()
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// frameAncestors is the CSP frame-ancestors value for embeddable pages.
func (s *Server) frameAncestors() string {
	var origins []string
	for _, o := range s.cfg.FrameOrigins {
		if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	if len(origins) == 0 {
		return "'none'"
	}
	return strings.Join(origins, " ")
}
