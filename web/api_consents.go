package web

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// maxConsentBody caps POST /api/v1/consents: the evidence is at most 4 KB.
const maxConsentBody = 16 << 10

// Page sizes of GET /api/v1/events.
const (
	eventsPageDefault = 100
	eventsPageMax     = 1000
)

//go:embed openapi.json
var openAPIDoc []byte

// apiKeyOf returns the API key the request was authenticated with.
func apiKeyOf(r *http.Request) consent.APIKey {
	k, _ := r.Context().Value(apiKeyCtx).(consent.APIKey)
	return k
}

// writeScope lets through only keys with the "write" scope.
func (s *Server) writeScope(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiKeyOf(r).Scope != "write" {
			s.apiFail(w, r, &requestError{http.StatusForbidden, "insufficient_scope", "This API key may only read; create a key with the write scope to change consents."})
			return
		}
		next(w, r)
	})
}

// apiEvent is the JSON form of an event. The personal fields (phone,
// actor, evidence) are empty for an erased contact's events.
type apiEvent struct {
	ID          int64             `json:"id"`
	Type        consent.EventType `json:"type"`
	Phone       string            `json:"phone"`
	Category    string            `json:"category"`
	State       consent.State     `json:"state"`
	Source      consent.Source    `json:"source"`
	OccurredAt  time.Time         `json:"occurred_at"`
	RecordedAt  time.Time         `json:"recorded_at"`
	WordingHash string            `json:"wording_hash"`
	Lang        string            `json:"lang"`
	EntryPoint  string            `json:"entry_point"`
	Actor       string            `json:"actor"`
	Evidence    map[string]string `json:"evidence"`
	Erased      bool              `json:"erased"`
}

func toAPIEvent(e consent.LedgerEvent) apiEvent {
	out := apiEvent{ID: e.ID, Type: e.Type, Phone: e.Phone, Category: e.Category, State: e.State,
		Source: e.Evidence.Source, OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, WordingHash: e.WordingHash,
		Lang: e.Lang, EntryPoint: e.Evidence.EntryPoint, Actor: e.Evidence.Actor, Evidence: e.Evidence.Detail,
		Erased: e.Erased}
	if out.Evidence == nil {
		out.Evidence = map[string]string{}
	}
	return out
}

// consentRequest is the body of POST /api/v1/consents.
type consentRequest struct {
	Phone      string          `json:"phone"`
	Category   string          `json:"category"`
	State      string          `json:"state"`
	Source     string          `json:"source"`
	OccurredAt string          `json:"occurred_at"`
	Evidence   json.RawMessage `json:"evidence"`
}

// handleAPIConsentCreate records a consent collected by another system.
func (s *Server) handleAPIConsentCreate(w http.ResponseWriter, r *http.Request) {
	idemKey := r.Header.Get("Idempotency-Key")
	if len(idemKey) > consent.MaxIdempotencyKeySize {
		s.apiFail(w, r, badRequest("invalid_idempotency_key", "The Idempotency-Key header is longer than 255 characters."))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConsentBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.apiFail(w, r, &requestError{http.StatusRequestEntityTooLarge, "too_large", "The body is larger than 16 KB."})
		return
	}
	if err != nil {
		s.apiFail(w, r, badRequest("malformed_json", "The body could not be read."))
		return
	}
	var req consentRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			s.apiFail(w, r, &consent.ValidationError{Fields: map[string]string{typeErr.Field: "type"}})
			return
		}
		s.apiFail(w, r, badRequest("malformed_json", "The body is not a JSON object of the documented fields (see /api/v1/openapi.json)."))
		return
	}
	rec := consent.ConsentRecord{Phone: req.Phone, Category: req.Category, State: consent.State(req.State),
		Source: consent.Source(req.Source), Actor: "api:" + apiKeyOf(r).Name}
	if req.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339, req.OccurredAt)
		if err != nil {
			s.apiFail(w, r, &consent.ValidationError{Fields: map[string]string{"occurred_at": "occurred_at.format"}})
			return
		}
		rec.OccurredAt = t
	}
	if len(req.Evidence) > 0 && string(req.Evidence) != "null" {
		if err := json.Unmarshal(req.Evidence, &rec.Evidence); err != nil {
			s.apiFail(w, r, &consent.ValidationError{Fields: map[string]string{"evidence": "evidence.not_strings"}})
			return
		}
	}
	if idemKey != "" {
		rec.Idempotency = &consent.Idempotency{KeyID: apiKeyOf(r).ID, Key: idemKey, RequestHash: consent.RequestHash(rec)}
	}
	out, err := s.svc.RecordConsent(r.Context(), rec)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	code := http.StatusOK
	if out.Changed {
		code = http.StatusCreated
	}
	if out.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, code, toAPIEvent(out.Event))
}

// eventsCursor is the opaque "next" of GET /api/v1/events.
func eventsCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("e" + strconv.FormatInt(id, 10)))
}

func parseEventsCursor(c string) (int64, bool) {
	if c == "" {
		return 0, true
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "e") {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b[1:]), 10, 64)
	return id, err == nil && id >= 0
}

// handleAPIEvents pages through the ledger in commit order.
func (s *Server) handleAPIEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, ok := parseEventsCursor(q.Get("after"))
	if !ok {
		s.apiFail(w, r, badRequest("invalid_cursor", "after must be a \"next\" value from an earlier page, or empty."))
		return
	}
	limit := eventsPageDefault
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > eventsPageMax {
			s.apiFail(w, r, badRequest("invalid_limit", "limit must be a number from 1 to 1000."))
			return
		}
		limit = n
	}
	events, err := s.svc.LedgerEvents(r.Context(), after, limit)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	out := struct {
		Events []apiEvent `json:"events"`
		Next   string     `json:"next"`
	}{Events: make([]apiEvent, 0, len(events)), Next: eventsCursor(after)}
	for _, e := range events {
		out.Events = append(out.Events, toAPIEvent(e))
		out.Next = eventsCursor(e.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPIContactErase erases a contact, leaving a tombstone.
func (s *Server) handleAPIContactErase(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.EraseByAPI(r.Context(), r.PathValue("phone"), "api:"+apiKeyOf(r).Name); err != nil {
		s.apiFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAPICategories lists the categories, with texts in ?lang= (English
// by default).
func (s *Server) handleAPICategories(w http.ResponseWriter, r *http.Request) {
	lang := "en"
	switch l := r.URL.Query().Get("lang"); l {
	case "es", "pt", "de":
		lang = l
	}
	cats, err := s.svc.Categories(r.Context(), lang)
	if err != nil {
		s.apiFail(w, r, err)
		return
	}
	type apiCategory struct {
		Slug        string `json:"slug"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Marketing   bool   `json:"marketing"`
	}
	out := struct {
		Categories []apiCategory `json:"categories"`
	}{Categories: make([]apiCategory, 0, len(cats))}
	for _, c := range cats {
		out.Categories = append(out.Categories, apiCategory{c.Slug, c.Name, c.Description, c.Marketing})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPIOpenAPI serves the API's OpenAPI 3 document. It is public: it
// describes the API and holds nothing of anyone's.
func (s *Server) handleAPIOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDoc)
}
