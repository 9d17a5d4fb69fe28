package web

import (
	"io/fs"
	"net/http"

	"github.com/optin/optin/static"
)

// routes is the whole HTTP surface of optin.
func (s *Server) routes() http.Handler {
	pages := http.NewServeMux()
	pages.HandleFunc("GET /optin", s.handleOptInForm)
	pages.HandleFunc("POST /optin", s.handleOptInSubmit)
	pages.HandleFunc("GET /optin/thanks", s.handleOptInThanks)
	pages.HandleFunc("GET /terms", s.handleTerms)
	pages.HandleFunc("GET /l/{code}", s.handleLinkRedirect)
	pages.HandleFunc("GET /qr/{file}", s.handleQR) // {code}.png or {code}.svg
	pages.HandleFunc("GET /p/{token}", s.handlePreferencesShow)
	pages.HandleFunc("POST /p/{token}", s.handlePreferencesSave)
	pages.HandleFunc("POST /p/{token}/stop", s.handlePreferencesStopAll)
	pages.HandleFunc("POST /p/{token}/download", s.handlePreferencesDownload)
	pages.HandleFunc("POST /p/{token}/rotate", s.handlePreferencesRotate)
	pages.HandleFunc("POST /p/{token}/erase", s.handlePreferencesErase) // a confirmation page until confirm=yes
	pages.HandleFunc("GET /p/{token}/receipts/{file}", s.handleReceiptShow)
	pages.HandleFunc("GET /{$}", s.handleHome)
	assets, _ := fs.Sub(static.FS, ".")
	pages.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(assets))))
	s.adminRoutes(pages)
	if s.cfg.Sandbox != nil && s.cfg.SandboxAdminOnly {
		sb := http.NewServeMux()
		s.cfg.Sandbox.Register(sb)
		pages.Handle("/sandbox", s.adminOnly(sb.ServeHTTP))
		pages.Handle("/sandbox/", s.adminOnly(sb.ServeHTTP))
	} else if s.cfg.Sandbox != nil {
		s.cfg.Sandbox.Register(pages)
	}
	pages.HandleFunc("/", s.handleNotFound)

	// Cross-origin protection for everything people use in a browser; the
	// webhook and the API authenticate each call instead.
	cop := http.NewCrossOriginProtection()
	mux := http.NewServeMux()
	mux.Handle("/", cop.Handler(pages))

	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("POST /webhook", s.handleWebhookReceive)
	mux.HandleFunc("GET /webhook", s.handleWebhookVerify)

	api := http.NewServeMux()
	api.HandleFunc("GET /api/v1/contacts/{phone}", s.handleAPIContactShow)
	api.HandleFunc("GET /api/v1/check", s.handleAPICheck)
	api.Handle("DELETE /api/v1/contacts/{phone}", s.writeScope(s.handleAPIContactErase))
	api.Handle("POST /api/v1/consents", s.writeScope(s.handleAPIConsentCreate))
	api.HandleFunc("GET /api/v1/events", s.handleAPIEvents)
	api.HandleFunc("GET /api/v1/categories", s.handleAPICategories)
	api.HandleFunc("/api/", s.handleAPINotFound)
	mux.Handle("/api/", noStore(s.requireAPIKey(notePattern(api))))
	mux.HandleFunc("GET /api/v1/openapi.json", s.handleAPIOpenAPI) // public: documentation only

	h := securityHeaders(mux)
	if s.secure {
		h = hsts(h)
	}
	return s.realClient(s.logRequests(h))
}

// adminRoutes is the admin console. Every page but sign-in is wrapped in
// viewer (any signed-in user) or adminOnly (the admin role); all of it sits
// behind the cross-origin protection of routes.
func (s *Server) adminRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /admin/login", s.handleAdminLoginForm)
	m.HandleFunc("POST /admin/login", s.handleAdminLoginSubmit)
	m.Handle("POST /admin/logout", s.viewer(s.handleAdminLogout))
	m.Handle("GET /admin/{$}", s.viewer(s.handleDashboard))
	m.Handle("POST /admin/alerts/{id}/resolve", s.adminOnly(s.handleAlertResolve))
	m.Handle("POST /admin/ledger/verify", s.adminOnly(s.handleLedgerVerify))
	m.Handle("GET /admin/events", s.viewer(s.handleEventList))
	m.Handle("GET /admin/audit", s.viewer(s.handleAuditList))
	m.Handle("GET /admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently))

	m.Handle("GET /admin/settings", s.viewer(s.handleSettingsShow))
	m.Handle("POST /admin/settings", s.adminOnly(s.handleSettingsSave))
	m.Handle("GET /admin/users", s.viewer(s.handleUserList))
	m.Handle("POST /admin/users", s.adminOnly(s.handleUserCreate))
	m.Handle("POST /admin/users/{id}/role", s.adminOnly(s.handleUserRole))
	m.Handle("POST /admin/users/{id}/revoke", s.adminOnly(s.handleUserRevoke)) // a confirmation page until confirm=yes
	m.Handle("GET /admin/account", s.viewer(s.handleAccountShow))
	m.Handle("POST /admin/account", s.viewer(s.handleAccountPassword)) // every user changes their own password
	m.Handle("GET /admin/api-keys", s.viewer(s.handleAPIKeyList))
	m.Handle("POST /admin/api-keys", s.adminOnly(s.handleAPIKeyCreate))
	m.Handle("POST /admin/api-keys/{id}/revoke", s.adminOnly(s.handleAPIKeyRevoke)) // a confirmation page until confirm=yes
	// Contacts: search, the contact page, and an admin's opt-out and erasure.
	m.Handle("GET /admin/contacts", s.viewer(s.handleContactList))
	m.Handle("GET /admin/contacts/{id}", s.viewer(s.handleContactShow))
	m.Handle("POST /admin/contacts/{id}/opt-out", s.adminOnly(s.handleContactOptOut))               // a confirmation page until confirm=yes
	m.Handle("POST /admin/contacts/{id}/erase", s.adminOnly(s.handleContactErase))                  // a confirmation page until confirm=yes
	m.Handle("POST /admin/contacts/{id}/messages/{mid}/resend", s.adminOnly(s.handleMessageResend)) // a confirmation page until confirm=yes

	// The catalog: categories, the consent wording, entry points and their kit.
	m.Handle("GET /admin/categories", s.viewer(s.handleCategoryList))
	m.Handle("GET /admin/categories/new", s.adminOnly(s.handleCategoryNew))
	m.Handle("POST /admin/categories", s.adminOnly(s.handleCategoryCreate))
	m.Handle("GET /admin/categories/{id}", s.viewer(s.handleCategoryEdit))
	m.Handle("POST /admin/categories/{id}", s.adminOnly(s.handleCategoryUpdate))
	m.Handle("POST /admin/categories/{id}/delete", s.adminOnly(s.handleCategoryDelete)) // a confirmation page until confirm=yes
	m.Handle("GET /admin/wording", s.viewer(s.handleWordingShow))
	m.Handle("POST /admin/wording", s.adminOnly(s.handleWordingUpdate))
	m.Handle("GET /admin/wordings/{hash}", s.viewer(s.handleWordingVersionShow))
	m.Handle("GET /admin/entry-points", s.viewer(s.handleEntryList))
	m.Handle("GET /admin/entry-points/new", s.adminOnly(s.handleEntryNew))
	m.Handle("POST /admin/entry-points", s.adminOnly(s.handleEntryCreate))
	m.Handle("GET /admin/entry-points/{code}", s.viewer(s.handleEntryShow))
	m.Handle("POST /admin/entry-points/{code}", s.adminOnly(s.handleEntryUpdate))

	// CSV export and import (admins only: the files hold whole numbers).
	m.Handle("GET /admin/export/contacts.csv", s.adminOnly(s.handleAdminExportContacts))
	m.Handle("GET /admin/export/events.csv", s.adminOnly(s.handleAdminExportEvents))
	m.Handle("GET /admin/import", s.adminOnly(s.handleAdminImportForm))
	m.Handle("POST /admin/import", s.adminOnly(s.handleAdminImportUpload)) // the dry run
	m.Handle("GET /admin/import/{id}", s.adminOnly(s.handleAdminImportShow))
	m.Handle("POST /admin/import/{id}/run", s.adminOnly(s.handleAdminImportRun))
	m.Handle("GET /admin/import/{id}/progress", s.adminOnly(s.handleAdminImportProgress))
}
