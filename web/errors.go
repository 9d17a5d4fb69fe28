package web

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/optin/optin/consent"
)

// status maps an error to the HTTP status a person or system sees. It is the
// one place where domain errors meet HTTP.
func status(err error) int {
	var verr *consent.ValidationError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &verr):
		return http.StatusUnprocessableEntity
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, consent.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, consent.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, consent.ErrRateLimited):
		return http.StatusTooManyRequests
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

// apiFail answers an API request that went wrong.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	body := apiErrorBody{Code: "internal", Message: "Something went wrong on our side; try again later."}
	var verr *consent.ValidationError
	switch {
	case errors.As(err, &verr):
		body = apiErrorBody{Code: "invalid", Message: "The request has invalid fields.", Fields: verr.Fields}
		if k, ok := verr.Fields["phone"]; ok && len(verr.Fields) == 1 {
			body.Code, body.Message = "invalid_phone", "The phone number is not valid ("+k+")."
		}
		code = http.StatusBadRequest
	case code == http.StatusNotFound:
		body = apiErrorBody{Code: "not_found", Message: "No such resource."}
	case code == http.StatusConflict:
		body = apiErrorBody{Code: "conflict", Message: "The request conflicts with the current state."}
	default:
		s.log.Error("api request failed", "route", r.Pattern, "err", err)
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
