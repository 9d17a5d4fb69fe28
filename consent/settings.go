package consent

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings are what an admin may change while optin runs. The environment
// gives the first values (Config); a value saved by an admin overrides the
// environment's from then on, in this process at once and after restarts.
// A Settings value handed out by the Service is a snapshot: it is never
// changed afterwards, a save replaces it as a whole.
type Settings struct {
	WelcomeTemplate   string
	WelcomeLanguage   string
	TemplateNamespace string
	Mode              Mode
	// TermsText, HelpText and FallbackText replace the built-in texts in a
	// language (keys of SettingsLanguages); a language without one keeps
	// the built-in text. They may hold the placeholders {business},
	// {contact} (HelpContact) and {link} (the person's preference link).
	TermsText    map[string]string
	HelpText     map[string]string
	FallbackText map[string]string
	// HelpContact is the human escalation path (phone, e-mail or web page);
	// "" is the opt-in form's URL.
	HelpContact string
	// SendRate is the most messages per second sent to the provider.
	SendRate float64
	// DailyCap is the most business-initiated messages (templates) sent per
	// UTC day, for the warm-up of a new number; 0 is no cap. Replies within
	// the 24-hour customer service window are not business-initiated and
	// never count.
	DailyCap int
	// The controller of the receipts (Kantara piiControllers, jurisdiction).
	Jurisdiction      string
	ControllerContact string
	ControllerAddress string
	ControllerCountry string // ISO 3166-1 alpha-2
	ControllerEmail   string

	// WelcomeLanguages are the further languages the welcome template was
	// approved in: a person who used the form in one of them gets it in
	// theirs, everyone else in WelcomeLanguage.
	WelcomeLanguages []string
}

// SettingsLanguages are the languages the texts of Settings can be given in.
var SettingsLanguages = []string{"en", "es", "pt", "de"}

// Setting keys, as stored and as named by the admin form. The texts are
// stored per language: "terms_text.en", "help_text.es"…
const (
	SettingWelcomeTemplate   = "welcome_template"
	SettingWelcomeLanguage   = "welcome_language"
	SettingWelcomeLanguages  = "welcome_languages"
	SettingTemplateNamespace = "template_namespace"
	SettingMode              = "optin_mode"
	SettingTermsText         = "terms_text"
	SettingHelpText          = "help_text"
	SettingFallbackText      = "fallback_text"
	SettingHelpContact       = "help_contact"
	SettingSendRate          = "send_rate"
	SettingDailyCap          = "daily_cap"
	SettingJurisdiction      = "jurisdiction"
	SettingControllerContact = "controller_contact"
	SettingControllerAddress = "controller_address"
	SettingControllerCountry = "controller_country"
	SettingControllerEmail   = "controller_email"
)

// Limits of setting values.
const (
	MaxSendRate     = 1000 // messages per second, as OPTIN_SEND_RATE
	MaxDailyCap     = 10_000_000
	maxTemplateName = 512  // WhatsApp's limit
	maxMessageText  = 4096 // WhatsApp's limit for a text body
	maxTermsText    = 20000
	maxShortSetting = 300
)

var (
	templateNameRE = regexp.MustCompile(`^[a-z0-9_]+$`)
	templateLangRE = regexp.MustCompile(`^[a-z]{2,3}(_[A-Z]{2})?$`)
	namespaceRE    = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)
)

// settingField is one key: how to read it from Settings and how to check and
// set it from text. set returns a message key for a bad value, "" when set.
type settingField struct {
	key string
	get func(*Settings) string
	set func(*Settings, string) string
}

func textField(prefix, lang string, m func(*Settings) *map[string]string, limit int) settingField {
	return settingField{
		key: prefix + "." + lang,
		get: func(st *Settings) string { return (*m(st))[lang] },
		set: func(st *Settings, v string) string {
			v = strings.TrimSpace(strings.ReplaceAll(v, "\r\n", "\n"))
			if len([]rune(v)) > limit {
				return "settings.too_long"
			}
			cp := map[string]string{}
			for k, x := range *m(st) {
				cp[k] = x
			}
			if v == "" {
				delete(cp, lang)
			} else {
				cp[lang] = v
			}
			*m(st) = cp
			return ""
		},
	}
}

func shortField(key string, p func(*Settings) *string, check func(string) string) settingField {
	return settingField{
		key: key,
		get: func(st *Settings) string { return *p(st) },
		set: func(st *Settings, v string) string {
			v = strings.TrimSpace(v)
			if len([]rune(v)) > maxShortSetting {
				return "settings.too_long"
			}
			if check != nil {
				if k := check(v); k != "" {
					return k
				}
			}
			*p(st) = v
			return ""
		},
	}
}

// settingFields lists every key in the order the admin page shows them.
func settingFields(namespaceRequired bool) []settingField {
	f := []settingField{
		{
			key: SettingWelcomeTemplate,
			get: func(st *Settings) string { return st.WelcomeTemplate },
			set: func(st *Settings, v string) string {
				v = strings.TrimSpace(v)
				if len(v) > maxTemplateName || !templateNameRE.MatchString(v) {
					return "settings.template_name"
				}
				st.WelcomeTemplate = v
				return ""
			},
		},
		shortField(SettingWelcomeLanguage, func(st *Settings) *string { return &st.WelcomeLanguage }, func(v string) string {
			if !templateLangRE.MatchString(v) {
				return "settings.template_language"
			}
			return ""
		}),
		{
			key: SettingWelcomeLanguages,
			get: func(st *Settings) string { return strings.Join(st.WelcomeLanguages, ",") },
			set: func(st *Settings, v string) string {
				langs, ok := ParseWelcomeLanguages(v)
				if !ok || len(v) > maxShortSetting {
					return "settings.languages"
				}
				st.WelcomeLanguages = langs
				return ""
			},
		},
		shortField(SettingTemplateNamespace, func(st *Settings) *string { return &st.TemplateNamespace }, func(v string) string {
			if !namespaceRE.MatchString(v) || (namespaceRequired && v == "") {
				return "settings.namespace"
			}
			return ""
		}),
		{
			key: SettingMode,
			get: func(st *Settings) string { return string(st.Mode) },
			set: func(st *Settings, v string) string {
				switch m := Mode(strings.TrimSpace(v)); m {
				case Single, Double:
					st.Mode = m
					return ""
				}
				return "settings.mode"
			},
		},
		{
			key: SettingSendRate,
			get: func(st *Settings) string { return strconv.FormatFloat(st.SendRate, 'f', -1, 64) },
			set: func(st *Settings, v string) string {
				r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil || math.IsNaN(r) || r <= 0 || r > MaxSendRate {
					return "settings.send_rate"
				}
				st.SendRate = r
				return ""
			},
		},
		{
			key: SettingDailyCap,
			get: func(st *Settings) string { return strconv.Itoa(st.DailyCap) },
			set: func(st *Settings, v string) string {
				v = strings.TrimSpace(v)
				if v == "" {
					v = "0"
				}
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 || n > MaxDailyCap {
					return "settings.daily_cap"
				}
				st.DailyCap = n
				return ""
			},
		},
		shortField(SettingHelpContact, func(st *Settings) *string { return &st.HelpContact }, nil),
	}
	for _, lang := range SettingsLanguages {
		f = append(f, textField(SettingTermsText, lang, func(st *Settings) *map[string]string { return &st.TermsText }, maxTermsText))
	}
	for _, lang := range SettingsLanguages {
		f = append(f, textField(SettingHelpText, lang, func(st *Settings) *map[string]string { return &st.HelpText }, maxMessageText))
	}
	for _, lang := range SettingsLanguages {
		f = append(f, textField(SettingFallbackText, lang, func(st *Settings) *map[string]string { return &st.FallbackText }, maxMessageText))
	}
	f = append(f,
		shortField(SettingJurisdiction, func(st *Settings) *string { return &st.Jurisdiction }, nil),
		shortField(SettingControllerContact, func(st *Settings) *string { return &st.ControllerContact }, nil),
		shortField(SettingControllerAddress, func(st *Settings) *string { return &st.ControllerAddress }, nil),
		shortField(SettingControllerCountry, func(st *Settings) *string { return &st.ControllerCountry }, func(v string) string {
			if v != "" && (len(v) != 2 || strings.ToUpper(v) != v || !KnownRegion(v)) {
				return "settings.country"
			}
			return ""
		}),
		shortField(SettingControllerEmail, func(st *Settings) *string { return &st.ControllerEmail }, func(v string) string {
			if v == "" {
				return ""
			}
			if a, err := mail.ParseAddress(v); err != nil || a.Address != v || a.Name != "" {
				return "settings.email"
			}
			return ""
		}),
	)
	return f
}

// Values returns every setting as text, by key.
func (st Settings) Values() map[string]string {
	out := map[string]string{}
	for _, f := range settingFields(false) {
		out[f.key] = f.get(&st)
	}
	return out
}

// SettingKeys lists every setting key in the order of the admin page.
func SettingKeys() []string {
	var keys []string
	for _, f := range settingFields(false) {
		keys = append(keys, f.key)
	}
	return keys
}

// SettingChange is one change of one setting.
type SettingChange struct {
	Key   string
	Old   string
	New   string
	At    time.Time
	Actor string
}

// SettingsStore keeps the settings admins saved and their history.
type SettingsStore interface {
	// StoredSettings returns the saved values by key.
	StoredSettings(ctx context.Context) (map[string]string, error)
	// SaveSettings writes the changes and their history in one transaction.
	SaveSettings(ctx context.Context, changes []SettingChange) error
	// SettingsHistory returns the latest changes, newest first.
	SettingsHistory(ctx context.Context, limit int) ([]SettingChange, error)
	// TemplatesSentSince counts the template messages the provider accepted
	// at or after since.
	TemplatesSentSince(ctx context.Context, since time.Time) (int, error)
	// DeferMessage puts a claimed message back in the queue until next,
	// without counting the claim as an attempt.
	DeferMessage(ctx context.Context, id int64, next time.Time, reason string, now time.Time) error
	// ReleaseDeferred makes the messages held back by the daily cap due now.
	ReleaseDeferred(ctx context.Context, now time.Time) (int, error)
}

// initialSettings are the settings the environment gave.
func initialSettings(cfg Config) Settings {
	return Settings{
		WelcomeTemplate:   cfg.WelcomeTemplate,
		WelcomeLanguage:   cfg.WelcomeLanguage,
		WelcomeLanguages:  slices.Clone(cfg.WelcomeLanguages),
		TemplateNamespace: cfg.TemplateNamespace,
		Mode:              cfg.Mode,
		HelpContact:       cfg.HelpContact,
		SendRate:          cfg.SendRate,
		DailyCap:          cfg.DailyCap,
		Jurisdiction:      cfg.Jurisdiction,
		ControllerContact: cfg.ControllerContact,
		ControllerAddress: cfg.ControllerAddress,
		ControllerCountry: cfg.ControllerCountry,
		ControllerEmail:   cfg.ControllerEmail,
	}
}

// settings is the current snapshot. Every use case reads the settings
// through it, so that a save takes effect at once.
func (s *Service) settings() *Settings { return s.current.Load() }

// Settings returns the settings in force.
func (s *Service) Settings() Settings { return *s.settings() }

// SettingDefaults returns the settings the environment gave, which apply
// to every key no admin saved.
func (s *Service) SettingDefaults() Settings { return s.defaults }

// LoadSettings reads the saved settings over the environment's. A saved
// value that no longer passes the checks is ignored (the environment's
// stands) rather than stopping optin.
func (s *Service) LoadSettings(ctx context.Context) error {
	stored, err := s.store.StoredSettings(ctx)
	if err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	st := s.defaults
	for _, f := range settingFields(s.cfg.NamespaceRequired) {
		if v, ok := stored[f.key]; ok {
			saved := st
			if f.set(&st, v) != "" {
				st = saved
			}
		}
	}
	s.current.Store(&st)
	return nil
}

// SaveSettings checks values (by key; keys left out keep their value) and,
// when every one is valid, saves those that changed, with their history,
// and puts them in force at once. An invalid value is a *ValidationError
// and nothing changes. It returns the changes made.
func (s *Service) SaveSettings(ctx context.Context, values map[string]string, actor string) ([]SettingChange, error) {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	cur := s.settings()
	next := *cur
	verr := &ValidationError{}
	fields := settingFields(s.cfg.NamespaceRequired)
	known := map[string]bool{}
	for _, f := range fields {
		known[f.key] = true
		v, ok := values[f.key]
		if !ok {
			continue
		}
		if k := f.set(&next, v); k != "" {
			verr.Add(f.key, k)
		}
	}
	for k := range values {
		if !known[k] {
			verr.Add(k, "settings.unknown")
		}
	}
	if err := verr.OrNil(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var changes []SettingChange
	for _, f := range fields {
		if old, nv := f.get(cur), f.get(&next); old != nv {
			changes = append(changes, SettingChange{Key: f.key, Old: old, New: nv, At: now, Actor: actor})
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if err := s.store.SaveSettings(ctx, changes); err != nil {
		return nil, err
	}
	s.current.Store(&next)
	if next.DailyCap != cur.DailyCap {
		// Messages held back by the old cap get another look under the new one.
		if n, err := s.store.ReleaseDeferred(ctx, now); err != nil {
			return changes, err
		} else if n > 0 && s.notify != nil {
			s.notify()
		}
	}
	return changes, nil
}

// SettingsHistory returns the latest setting changes, newest first.
func (s *Service) SettingsHistory(ctx context.Context, limit int) ([]SettingChange, error) {
	return s.store.SettingsHistory(ctx, limit)
}

// SendLimits are the dispatcher's limits as an admin set them.
type SendLimits struct {
	Rate     float64
	DailyCap int
	// CapFromTier is set when the number's messaging limit tier, lower
	// than the configured cap, sets DailyCap (quality.go).
	CapFromTier bool
	// HoldBusiness holds business-initiated messages (templates) while
	// WhatsApp flags, restricts or bans the number; HoldReason says why.
	HoldBusiness bool
	HoldReason   string
}

// SendLimits returns the send rate and the daily cap in force, narrowed by
// the number's quality standing.
func (s *Service) SendLimits() SendLimits {
	st := s.settings()
	return s.withQuality(SendLimits{Rate: st.SendRate, DailyCap: st.DailyCap})
}

// TermsText returns the terms an admin wrote for lang, with {business}
// filled in, or false when the built-in terms apply.
func (s *Service) TermsText(lang string) (string, bool) {
	t, ok := s.settings().TermsText[lang]
	if !ok {
		return "", false
	}
	return s.expand(t, ""), true
}

// helpMessage is the answer to HELP, ending with topics (the categories
// and the words that stop each, helpTopics) when set. An admin's text always
// carries the escalation contact, the preference link and the topics: where
// it names no placeholder for the first two they are added at the end, since
// WhatsApp requires a human escalation path in automated replies.
func (s *Service) helpMessage(lang, link, topics string) Message {
	builtin := func() Message {
		m := s.text(lang, "mo.help", s.cfg.BusinessName, s.helpContact(), link)
		if topics != "" {
			m.Text += "\n\n" + topics
		}
		return m
	}
	t, ok := s.settings().HelpText[lang]
	if !ok {
		return builtin()
	}
	if !strings.Contains(t, "{contact}") {
		t += "\n{contact}"
	}
	if !strings.Contains(t, "{link}") {
		t += "\n{link}"
	}
	text := s.expand(t, link)
	if topics != "" {
		text += "\n\n" + topics
	}
	if runes(text) <= MaxTextRunes {
		return Message{Kind: KindText, Text: text}
	}
	// Filled in, the admin's text is longer than WhatsApp takes: the
	// built-in answer, which always fits, is better than none.
	return builtin()
}

// fallbackMessage is the reply to people writing in when no forward URL is
// set. An admin's text always carries the escalation contact.
func (s *Service) fallbackMessage(lang string) Message {
	t, ok := s.settings().FallbackText[lang]
	if !ok {
		return s.text(lang, "mo.fallback", s.cfg.BusinessName, s.helpContact())
	}
	if !strings.Contains(t, "{contact}") {
		t += "\n{contact}"
	}
	if text := s.expand(t, ""); runes(text) <= MaxTextRunes {
		return Message{Kind: KindText, Text: text}
	}
	return s.text(lang, "mo.fallback", s.cfg.BusinessName, s.helpContact())
}

// expand fills the placeholders of an admin's text.
func (s *Service) expand(t, link string) string {
	return strings.NewReplacer("{business}", s.cfg.BusinessName, "{contact}", s.helpContact(), "{link}", link).Replace(t)
}

// SettingFieldLanguage splits a per-language key ("help_text.es") into its
// setting and language; other keys return lang "".
func SettingFieldLanguage(key string) (setting, lang string) {
	if i := strings.LastIndexByte(key, '.'); i > 0 && slices.Contains(SettingsLanguages, key[i+1:]) {
		return key[:i], key[i+1:]
	}
	return key, ""
}

// ParseWelcomeLanguages reads a comma-separated list of template language
// codes ("en,de,es,pt_BR"), as OPTIN_WELCOME_LANGUAGES and the settings page
// give it: blanks are skipped, repeats dropped; ok is false when a code is
// not shaped like WhatsApp's (en, pt_BR).
func ParseWelcomeLanguages(v string) (langs []string, ok bool) {
	for _, l := range strings.Split(v, ",") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if !templateLangRE.MatchString(l) {
			return nil, false
		}
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	return langs, true
}

// WelcomeLanguageFor picks the welcome template's language for a person who
// used optin in lang ("de", "pt"): the template language that is lang, or
// failing that the first whose primary subtag is lang ("pt" → "pt_BR"),
// among WelcomeLanguage and WelcomeLanguages; otherwise WelcomeLanguage.
// textLang is the language of the template's variables and preview: the
// chosen template language's primary subtag, so they never differ from it.
func (st *Settings) WelcomeLanguageFor(lang string) (tplLang, textLang string) {
	all := append([]string{st.WelcomeLanguage}, st.WelcomeLanguages...)
	tplLang = st.WelcomeLanguage
	if lang = strings.ToLower(strings.TrimSpace(lang)); lang != "" {
		if i := slices.Index(all, lang); i >= 0 {
			tplLang = all[i]
		} else if i := slices.IndexFunc(all, func(l string) bool { return primaryTag(l) == lang }); i >= 0 {
			tplLang = all[i]
		}
	}
	return tplLang, primaryTag(tplLang)
}

// primaryTag is the language of a template language code: "pt" for "pt_BR".
func primaryTag(code string) string {
	if i := strings.IndexAny(code, "_-"); i >= 0 {
		code = code[:i]
	}
	return strings.ToLower(code)
}
