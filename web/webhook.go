package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
)

// maxWebhookBytes bounds a webhook call; WhatsApp batches stay far below.
const maxWebhookBytes = 1 << 20

// handleWebhookReceive takes a call from the provider (or the sandbox). The
// secret or signature is checked on the raw bytes before anything is parsed;
// the body is acknowledged only once it is durably stored, and processed
// later from the inbox.
func (s *Server) handleWebhookReceive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{apiErrorBody{Code: "too_large", Message: "The body is larger than 1 MiB."}})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiError{apiErrorBody{Code: "bad_body", Message: "The body could not be read."}})
		return
	}
	if !s.webhookAuthentic(r, body) {
		writeJSON(w, http.StatusUnauthorized, apiError{apiErrorBody{Code: "unauthorized", Message: "Missing or wrong webhook secret or signature."}})
		return
	}
	// Any JSON is stored and acknowledged, whatever its shape: a webhook
	// field optin does not act on (account_update, template status and
	// quality updates, value.errors) or a shape it does not know would
	// otherwise be resent by the provider for days. The inbox worker keeps
	// such calls with the reason, for admins. Only bytes that are not JSON
	// at all are refused.
	if !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, apiError{apiErrorBody{Code: "malformed", Message: "The body is not JSON."}})
		return
	}
	if err := s.svc.Receive(r.Context(), body); err != nil {
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

// webhookAuthentic checks Meta's X-Hub-Signature-256 when an app secret is
// configured and the call carries one, else the shared X-Optin-Secret, both
// in constant time.
func (s *Server) webhookAuthentic(r *http.Request, body []byte) bool {
	if sig := r.Header.Get("X-Hub-Signature-256"); sig != "" && s.cfg.AppSecret != "" {
		got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
		if err != nil {
			return false
		}
		mac := hmac.New(sha256.New, []byte(s.cfg.AppSecret))
		mac.Write(body)
		return hmac.Equal(got, mac.Sum(nil))
	}
	if s.cfg.WebhookSecret == "" {
		return false
	}
	got := r.Header.Get("X-Optin-Secret")
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.WebhookSecret)) == 1
}

// handleWebhookVerify answers Meta's subscription handshake.
func (s *Server) handleWebhookVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || s.cfg.VerifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.VerifyToken)) != 1 {
		http.Error(w, "verification failed", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, truncate(q.Get("hub.challenge"), 256))
}
