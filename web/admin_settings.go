package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// settingLabel is how the settings page presents one key.
type settingLabel struct {
	label, hint, kind, step string
	options                 []string
}

var settingLabels = map[string]settingLabel{
	consent.SettingWelcomeTemplate: {label: "Welcome template name", kind: "text",
		hint: "The approved WhatsApp template sent after an opt-in: lower-case letters, digits and underscores."},
	consent.SettingWelcomeLanguage: {label: "Welcome template language", kind: "text",
		hint: "The template's language code as approved, such as en, de or pt_BR. People whose language is not among the further languages below get the welcome in this one."},
	consent.SettingWelcomeLanguages: {label: "Further welcome template languages", kind: "text",
		hint: "Comma-separated codes of the other languages the template is approved in, such as de,es,pt_BR. A person who used the form in one of them gets the welcome in theirs (category names included); everyone else gets it entirely in the language above. Empty: only that one."},
	consent.SettingTemplateNamespace: {label: "Template namespace", kind: "text",
		hint: "Only the v1 (on-premise) provider uses it."},
	consent.SettingMode: {label: "Opt-in mode", kind: "select", options: []string{"single", "double"},
		hint: "double: consents stay pending until the person taps Confirm in the welcome message."},
	consent.SettingSendRate: {label: "Send rate (messages per second)", kind: "number", step: "any",
		hint: "At most 1000. optin slows down by itself when the provider throttles."},
	consent.SettingDailyCap: {label: "Daily cap on business-initiated messages", kind: "number", step: "1",
		hint: "Templates sent per UTC day, for the warm-up of a new number; 0 is no cap. Messages over the cap wait for the next day. Replies to people who wrote in the last 24 hours are not capped."},
	consent.SettingHelpContact: {label: "Escalation contact", kind: "text",
		hint: "How people reach a person (phone, e-mail or web page), in HELP answers and the fallback reply. Empty: the opt-in form's address."},
	consent.SettingJurisdiction:      {label: "Jurisdiction", kind: "text", hint: "Named in consent receipts, such as EU or DE."},
	consent.SettingControllerContact: {label: "Controller contact", kind: "text", hint: "The person or office answering data protection questions."},
	consent.SettingControllerAddress: {label: "Controller address", kind: "text", hint: "Street, postcode and city."},
	consent.SettingControllerCountry: {label: "Controller country", kind: "text", hint: "Two-letter code such as DE."},
	consent.SettingControllerEmail:   {label: "Controller e-mail", kind: "email"},
}

var settingTextLabels = map[string]settingLabel{
	consent.SettingTermsText: {label: "Terms", hint: "Shown at /terms. Empty: the built-in terms. {business} is replaced by the business name."},
	consent.SettingHelpText: {label: "HELP answer",
		hint: "Empty: the built-in answer. {business}, {contact} and {link} (the person's preference link) are filled in; the contact and the link are added at the end when the text does not place them."},
	consent.SettingFallbackText: {label: "Fallback reply",
		hint: "Sent once per 24-hour window to opted-in people who write in while no forward URL is set. Empty: the built-in reply. The contact is added when the text does not place {contact}."},
}

// settingErrors are the settings form's messages by validation key.
var settingErrors = map[string]string{
	"settings.template_name":     "Use the template's approved name: lower-case letters a–z, digits and underscores only, at most 512 characters.",
	"settings.template_language": "Use a language code such as en, de or pt_BR.",
	"settings.languages":         "Use language codes such as de,es,pt_BR, separated by commas.",
	"settings.namespace":         "Use letters, digits, _ and - only; the v1 provider needs a namespace.",
	"settings.mode":              "Choose single or double.",
	"settings.send_rate":         "Give a number of messages per second above 0 and at most 1000.",
	"settings.daily_cap":         "Give a whole number, 0 or more (0 means no cap).",
	"settings.country":           "Use a two-letter country code such as DE.",
	"settings.email":             "Give one e-mail address, such as privacy@example.com.",
	"settings.too_long":          "This is too long.",
	"settings.unknown":           "This is not a setting.",
}

var settingGroups = []struct {
	id, title, intro string
	keys             []string
}{
	{"welcome", "Welcome message and opt-in", "The template sent after an opt-in through the form, and whether it must be confirmed.",
		[]string{consent.SettingWelcomeTemplate, consent.SettingWelcomeLanguage, consent.SettingWelcomeLanguages, consent.SettingTemplateNamespace, consent.SettingMode}},
	{"sending", "Sending", "", []string{consent.SettingSendRate, consent.SettingDailyCap}},
	{"help", "Help and replies", "Texts per language; WhatsApp requires a way to reach a person in automated replies.",
		[]string{consent.SettingHelpContact, consent.SettingHelpText, consent.SettingFallbackText}},
	{"terms", "Terms", "Earlier versions stay in the list of changes below, with the time they were replaced.", []string{consent.SettingTermsText}},
	{"receipts", "Consent receipts", "The controller named in every consent receipt (Kantara v1.1 piiControllers and jurisdiction).",
		[]string{consent.SettingJurisdiction, consent.SettingControllerContact, consent.SettingControllerAddress,
			consent.SettingControllerCountry, consent.SettingControllerEmail}},
}

// settingsModel builds the page from the values shown (the ones in force, or
// those just submitted) and the errors by key.
func (s *Server) settingsModel(r *http.Request, values map[string]string, errs map[string]string) (views.AdminSettingsModel, error) {
	ctx := r.Context()
	defaults := s.svc.SettingDefaults().Values()
	history, err := s.svc.SettingsHistory(ctx, 100)
	if err != nil {
		return views.AdminSettingsModel{}, err
	}
	saved := map[string]bool{}
	for _, h := range history {
		saved[h.Key] = true
	}
	m := views.AdminSettingsModel{Layout: s.adminLayout(r, "Settings", "settings"), Invalid: len(errs) > 0}
	field := func(key string, l settingLabel) views.SettingsField {
		f := views.SettingsField{Key: key, Label: l.label, Hint: l.hint, Kind: l.kind, Options: l.options, Step: l.step,
			Value: values[key], Default: defaults[key], Saved: saved[key]}
		if k, ok := errs[key]; ok {
			f.Error = settingErrors[k]
			if f.Error == "" {
				f.Error = "This value is not valid."
			}
		}
		return f
	}
	for _, g := range settingGroups {
		vg := views.SettingsGroup{ID: g.id, Title: g.title, Intro: g.intro}
		for _, key := range g.keys {
			if tl, ok := settingTextLabels[key]; ok {
				for _, lang := range consent.SettingsLanguages {
					f := field(key+"."+lang, tl)
					f.Kind, f.Label = "textarea", tl.label+" ("+i18n.Name(lang)+")"
					f.Placeholder = s.builtInText(key, lang)
					if lang != consent.SettingsLanguages[0] {
						f.Hint = ""
					}
					vg.Fields = append(vg.Fields, f)
				}
				continue
			}
			vg.Fields = append(vg.Fields, field(key, settingLabels[key]))
		}
		m.Groups = append(m.Groups, vg)
	}
	for _, h := range history {
		m.History = append(m.History, views.SettingsHistoryRow{At: adminSeconds(h.At), Actor: h.Actor,
			Key: h.Key, Old: shorten(h.Old, 200), New: shorten(h.New, 200)})
	}
	return m, nil
}

// builtInText is the text that applies in lang while an admin wrote none.
func (s *Server) builtInText(setting, lang string) string {
	switch setting {
	case consent.SettingTermsText:
		return i18n.T(lang, "terms.body", s.cfg.BusinessName)
	case consent.SettingHelpText:
		return i18n.T(lang, "mo.help", s.cfg.BusinessName, "{contact}", "{link}")
	case consent.SettingFallbackText:
		return i18n.T(lang, "mo.fallback", s.cfg.BusinessName, "{contact}")
	}
	return ""
}

// handleSettingsShow shows the settings in force.
func (s *Server) handleSettingsShow(w http.ResponseWriter, r *http.Request) {
	m, err := s.settingsModel(r, s.svc.Settings().Values(), nil)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if r.URL.Query().Get("saved") != "" {
		m.Layout.Flash = "Settings saved. They apply from now on."
	}
	render(w, r, http.StatusOK, views.AdminSettingsPage(m))
}

// handleSettingsSave saves the settings form: every value valid, or nothing
// changes and the form comes back with the errors (422).
func (s *Server) handleSettingsSave(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 512<<10)
	if err := r.ParseForm(); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	values := map[string]string{}
	for _, key := range consent.SettingKeys() {
		if r.PostForm.Has(key) {
			values[key] = r.PostForm.Get(key)
		}
	}
	u := currentAdmin(r)
	changes, err := s.svc.SaveSettings(r.Context(), values, u.Email)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		shown := s.svc.Settings().Values()
		for k, v := range values {
			shown[k] = v
		}
		m, err := s.settingsModel(r, shown, verr.Fields)
		if err != nil {
			s.failAdmin(w, r, err)
			return
		}
		render(w, r, http.StatusUnprocessableEntity, views.AdminSettingsPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if len(changes) > 0 {
		detail := map[string]any{}
		for _, c := range changes {
			if setting, _ := consent.SettingFieldLanguage(c.Key); setting != c.Key {
				detail[c.Key] = map[string]int{"old_length": len(c.Old), "new_length": len(c.New)} // texts: see the history
			} else {
				detail[c.Key] = map[string]string{"old": c.Old, "new": c.New}
			}
		}
		s.audit(r, "settings_change", "settings", detail)
	}
	http.Redirect(w, r, "/admin/settings?saved=1", http.StatusSeeOther)
}

// shorten cuts text to at most n runes for a table cell.
func shorten(text string, n int) string {
	text = strings.TrimSpace(text)
	if r := []rune(text); len(r) > n {
		return string(r[:n]) + "…"
	}
	return text
}
