package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/optin/optin/consent"
)

// domainErrors is the one table of the domain's errors as people and other
// systems see them: the HTTP status, the API's error code and its message.
// Wrapped errors match their most specific row first.
var domainErrors = []struct {
	err     error
	status  int
	code    string
	message string
}{
	{consent.ErrErased, http.StatusConflict, "erased", "This number was erased. It can be recorded again only with new evidence of an explicit act of the person: " +
		"evidence.description and evidence.collected_at (RFC 3339), both after the erasure, with occurred_at after it too."},
	{consent.ErrStale, http.StatusConflict, "stale", "The category changed after occurred_at; a report of an earlier change can't become the current state."},
	{consent.ErrPending, http.StatusConflict, "pending_confirmation", "The person has not confirmed this consent yet (double opt-in): only their confirmation opts them in."},
	{consent.ErrIdempotencyMismatch, http.StatusUnprocessableEntity, "idempotency_key_reused", "This Idempotency-Key was used with a different request."},
	{consent.ErrNotFound, http.StatusNotFound, "not_found", "No such resource."},
	{consent.ErrConflict, http.StatusConflict, "conflict", "The request conflicts with the current state."},
	{consent.ErrRateLimited, http.StatusTooManyRequests, "rate_limited", "Too many requests; try again later."},
}

// requestError is a problem with an API request itself (a malformed body,
// a bad parameter), named by the handler that found it.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.code + ": " + e.message }

// badRequest is a requestError with status 400.
func badRequest(code, message string) error {
	return &requestError{status: http.StatusBadRequest, code: code, message: message}
}

// status maps an error to the HTTP status a person or system sees. It is the
// one place where domain errors meet HTTP.
func status(err error) int {
	var verr *consent.ValidationError
	var tooBig *http.MaxBytesError
	var rerr *requestError
	switch {
	case errors.As(err, &rerr):
		return rerr.status
	case errors.As(err, &verr):
		return http.StatusUnprocessableEntity
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	}
	for _, d := range domainErrors {
		if errors.Is(err, d.err) {
			return d.status
		}
	}
	return http.StatusInternalServerError
}

func slogLevel(code int) slog.Level {
	if code >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// fail answers a browser request that went wrong with the error page. An
// unexpected error is logged here, once; its text never reaches the page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	if code == http.StatusInternalServerError {
		s.log.Error("request failed", "route", r.Pattern, "err", err)
	}
	s.renderError(w, r, code)
}

// apiError is the JSON API's error body: {"error": {"code", "message"}}.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// apiFail answers an API request that went wrong: the only writer of the
// API's error bodies. Invalid fields are 422 in a body, 400 in the query or
// the path (GET, DELETE).
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	body := apiErrorBody{Code: "internal", Message: "Something went wrong on our side; try again later."}
	var verr *consent.ValidationError
	var rerr *requestError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &rerr):
		body = apiErrorBody{Code: rerr.code, Message: rerr.message}
	case errors.As(err, &verr):
		body = apiErrorBody{Code: "invalid", Message: "The request has invalid fields.", Fields: verr.Fields}
		if k, ok := verr.Fields["phone"]; ok && len(verr.Fields) == 1 {
			body.Code, body.Message = "invalid_phone", "The phone number is not valid ("+k+")."
		}
		if r.Method == http.MethodGet || r.Method == http.MethodDelete {
			code = http.StatusBadRequest
		}
	case errors.As(err, &tooBig):
		body = apiErrorBody{Code: "too_large", Message: fmt.Sprintf("The body is larger than %d bytes.", tooBig.Limit)}
	case code == http.StatusInternalServerError:
		s.log.Error("api request failed", "route", r.Pattern, "err", err)
	default:
		for _, d := range domainErrors {
			if errors.Is(err, d.err) {
				body = apiErrorBody{Code: d.code, Message: d.message}
				break
			}
		}
	}
	writeJSON(w, code, apiError{Error: body})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
