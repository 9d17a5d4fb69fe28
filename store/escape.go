package store

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/optin/optin/consent"
)

// escapeText writes NUL and the bytes of invalid UTF-8 as \x00-style
// escapes, so that evidence keeps what was sent, visibly, instead of raw
// bytes that pages, CSV files and JSON would fold or choke on. Text that
// needs none (nearly all) comes back unchanged.
func escapeText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1, r == 0:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escapeEvidence escapes every free text of an event's evidence.
func escapeEvidence(e *consent.Evidence) {
	for _, p := range []*string{&e.UserAgent, &e.PageURL, &e.EmbedOrigin, &e.MessageID, &e.MessageText, &e.Actor,
		&e.EntryPoint, &e.FormVersion} {
		*p = escapeText(*p)
	}
	if len(e.Detail) > 0 {
		d := make(map[string]string, len(e.Detail))
		for k, v := range e.Detail {
			d[escapeText(k)] = escapeText(v)
		}
		e.Detail = d
	}
}
