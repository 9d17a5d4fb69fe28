package web

import (
	"context"
	"net/http"
	"time"
)

// csp is the Content-Security-Policy of every page; handlers that may be
// framed replace its frame-ancestors.
const csp = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors "

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp+"'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// noStore keeps answers with personal data (the API's) out of every cache:
// browsers', proxies' and the disk of a shared machine.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// hsts tells browsers to come back over https only, when the base URL is
// https (a plain-http installation must not pin itself).
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// allowFraming lets the page be embedded by the configured origins.
func (s *Server) allowFraming(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", csp+s.frameAncestors())
	w.Header().Del("X-Frame-Options") // frame-ancestors supersedes it
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs one line per request. It logs the route pattern, never
// the path or query: they can hold phone numbers and tokens.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		note := &routeNote{}
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, note))
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		pattern := note.pattern // from a mux behind a request copy (notePattern)
		if pattern == "" {
			pattern = r.Pattern
		}
		if pattern == "" {
			pattern = r.Method + " (unmatched)"
		}
		elapsed := time.Since(start)
		s.metrics.observe(pattern, rec.status, elapsed)
		level := slogLevel(rec.status)
		s.log.Log(r.Context(), level, "request", "route", pattern, "status", rec.status,
			"duration_ms", float64(elapsed.Microseconds())/1000)
	})
}

// cacheStatic lets browsers keep assets for a day.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}
