// Package i18n is optin's message catalog: every sentence a person reads on a
// page, in a form error or in a message optin sends, in each supported
// language. Messages are looked up by key (for example "phone.too_short",
// the keys the consent domain reports in its validation errors) and formatted
// with fmt verbs, so a translation must keep the same verbs in the same order
// as the English text. A key missing from a language falls back to English.
package i18n

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Languages lists the supported languages in the order a language switcher
// shows them. The first one is the fallback.
var Languages = []string{"en", "es", "pt", "de"}

// fallback is the language used when a key or a language is missing.
const fallback = "en"

var names = map[string]string{
	"en": "English",
	"es": "Español",
	"pt": "Português",
	"de": "Deutsch",
}

var catalog = map[string]map[string]string{
	"en": en,
	"es": es,
	"pt": pt,
	"de": de,
}

// Name returns a language's own name for itself ("Deutsch" for "de"), or the
// code when the language is not supported.
func Name(lang string) string {
	if n, ok := names[lang]; ok {
		return n
	}
	return lang
}

// Keys lists the keys of lang's catalog, sorted; nil for an unsupported
// language. Tests use it to check that every message stays within the
// limits of where it is shown.
func Keys(lang string) []string {
	keys := make([]string, 0, len(catalog[lang]))
	for k := range catalog[lang] {
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	return keys
}

// Supported reports whether lang is one of Languages.
func Supported(lang string) bool {
	_, ok := catalog[lang]
	return ok
}

// T returns the message for key in lang, formatted with args as by
// fmt.Sprintf. It falls back to English, then to the key itself, so a missing
// translation shows up as readable text rather than an empty string.
func T(lang, key string, args ...any) string {
	msg, ok := catalog[lang][key]
	if !ok {
		msg, ok = catalog[fallback][key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Match picks the language for a request. query is the ?lang= parameter and
// wins when it names a supported language; otherwise the Accept-Language
// header is read by preference (q-values, "pt-BR" counts as "pt"); otherwise
// English.
func Match(query, acceptLanguage string) string {
	if l := base(query); Supported(l) {
		return l
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for i, part := range strings.Split(acceptLanguage, ",") {
		if i >= 32 { // a real browser sends a handful; ignore the rest
			break
		}
		tag, params, _ := strings.Cut(part, ";")
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || v < 0 || v > 1 {
				v = 0
			}
			q = v
		}
		if l := base(tag); q > 0 && Supported(l) {
			prefs = append(prefs, pref{l, q})
		}
	}
	slices.SortStableFunc(prefs, func(a, b pref) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return fallback
}

// base returns the lower-cased primary subtag of a language tag: "pt" for
// "pt-BR", "de" for "DE_at".
func base(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}
