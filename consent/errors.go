package consent

import (
	"errors"
	"sort"
	"strings"
)

// Sentinel errors returned by the Service and Store. The web layer maps them
// to HTTP statuses in one place.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrRateLimited = errors.New("rate limited")
)

// ValidationError reports input a person must correct. Fields maps a field
// name ("phone", "category") to a message key from the web catalog (for
// example "phone.too_short"), so the message can be shown in the person's
// language.
type ValidationError struct {
	Fields map[string]string
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("invalid input:")
	for _, k := range keys {
		b.WriteString(" " + k + "=" + e.Fields[k])
	}
	return b.String()
}

// Add records a problem with field, keeping the first one reported.
func (e *ValidationError) Add(field, key string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = key
	}
}

// OrNil returns e as an error when it holds a problem, nil otherwise.
func (e *ValidationError) OrNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}
