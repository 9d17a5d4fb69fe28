package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
	"github.com/optin/optin/web/i18n"
)

// prefsFormVersion identifies the preference center's forms in the evidence;
// change it when the page changes in a way a lawyer would care about.
const prefsFormVersion = "prefs/1"

// prefsDone maps the statuses a redirect back to the page may announce to
// their messages. Anything else in ?done= is ignored.
var prefsDone = map[string]string{
	"saved":     "prefs.done.saved",
	"unchanged": "prefs.done.unchanged",
	"stopped":   "prefs.done.stopped",
	"rotated":   "prefs.done.rotated",
}

// handlePreferencesShow shows a person's preference center. It changes
// nothing, not even a "last seen": link scanners and previews fetch it too.
func (s *Server) handlePreferencesShow(w http.ResponseWriter, r *http.Request) {
	c, token, ok := s.preferenceContact(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	lang := prefsLang(q.Get("lang"), r.Header.Get("Accept-Language"), c.Language)
	m, err := s.preferencesModel(r, c, token, lang)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if key, ok := prefsDone[q.Get("done")]; ok {
		m.Done = i18n.T(lang, key)
	}
	render(w, r, http.StatusOK, views.PreferencesPage(m))
}

// handlePreferencesSave applies the ticked boxes.
func (s *Server) handlePreferencesSave(w http.ResponseWriter, r *http.Request) {
	c, token, lang, ok := s.preferencePost(w, r)
	if !ok {
		return
	}
	changed, err := s.svc.SavePreferences(r.Context(), consent.PreferenceChange{
		ContactID:  c.ID,
		Lang:       lang,
		Categories: r.PostForm["category"],
		Wording:    prefsWording(lang, s.cfg.BusinessName),
		Evidence:   prefsEvidence(r),
	})
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		m, err := s.preferencesModel(r, c, token, lang)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m.Error = i18n.T(lang, firstField(verr))
		render(w, r, http.StatusUnprocessableEntity, views.PreferencesPage(m))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done := "saved"
	if len(changed) == 0 {
		done = "unchanged"
	}
	redirectToPreferences(w, r, token, done, lang)
}

// handlePreferencesStopAll opts the person out of everything.
func (s *Server) handlePreferencesStopAll(w http.ResponseWriter, r *http.Request) {
	c, token, lang, ok := s.preferencePost(w, r)
	if !ok {
		return
	}
	if _, err := s.svc.OptOutAll(r.Context(), c.ID, lang, prefsEvidence(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	redirectToPreferences(w, r, token, "stopped", lang)
}

// handlePreferencesRotate gives the person a new link and retires every
// other one, then shows the page under its new address.
func (s *Server) handlePreferencesRotate(w http.ResponseWriter, r *http.Request) {
	c, _, lang, ok := s.preferencePost(w, r)
	if !ok {
		return
	}
	token, err := s.svc.RotateToken(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	redirectToPreferences(w, r, token, "rotated", lang)
}

// handlePreferencesErase asks for confirmation and, when the form says
// confirm=yes, erases the contact the way the MO flow does.
func (s *Server) handlePreferencesErase(w http.ResponseWriter, r *http.Request) {
	c, token, lang, ok := s.preferencePost(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		m := views.EraseConfirmModel{
			Layout:  s.prefsLayout(r, token, lang, i18n.T(lang, "prefs.erase.title")),
			Action:  "/p/" + token + "/erase",
			BackURL: "/p/" + token + "?lang=" + lang,
		}
		render(w, r, http.StatusOK, views.EraseConfirmPage(m))
		return
	}
	if err := s.svc.EraseByPerson(r.Context(), c.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	m := views.ErasedModel{Layout: s.prefsLayout(r, token, lang, i18n.T(lang, "prefs.erased.title"))}
	m.Layout.Languages = nil // the page they would link to is gone
	render(w, r, http.StatusOK, views.ErasedPage(m))
}

// handlePreferencesDownload sends everything optin keeps about the person
// as a JSON file.
func (s *Server) handlePreferencesDownload(w http.ResponseWriter, r *http.Request) {
	c, _, _, ok := s.preferencePost(w, r)
	if !ok {
		return
	}
	d, err := s.svc.PersonData(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.cfg.Clock.Now().UTC()
	body, err := json.MarshalIndent(exportOf(d, s.cfg.BusinessName, now), "", "  ")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="optin-data-`+now.Format("2006-01-02")+`.json"`)
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// preferenceContact resolves the token in the path. A retired, unknown or
// forged token gets the same 404 page as any unknown address. Every answer
// under /p/ is private: not cached, not indexed, and never sent on as a
// referrer, since its address is the key to the page.
func (s *Server) preferenceContact(w http.ResponseWriter, r *http.Request) (consent.Contact, string, bool) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	token := r.PathValue("token")
	c, err := s.svc.PreferenceContact(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return consent.Contact{}, "", false
	}
	return c, token, true
}

// preferencePost resolves the token and reads the posted form with its
// language.
func (s *Server) preferencePost(w http.ResponseWriter, r *http.Request) (c consent.Contact, token, lang string, ok bool) {
	c, token, ok = s.preferenceContact(w, r)
	if !ok {
		return c, "", "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		code := http.StatusBadRequest
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
		}
		s.renderError(w, r, code)
		return c, "", "", false
	}
	return c, token, prefsLang(r.PostForm.Get("lang"), r.Header.Get("Accept-Language"), c.Language), true
}

func redirectToPreferences(w http.ResponseWriter, r *http.Request, token, done, lang string) {
	q := url.Values{"done": {done}, "lang": {lang}}
	http.Redirect(w, r, "/p/"+token+"?"+q.Encode(), http.StatusSeeOther)
}

// prefsLang picks the page's language: ?lang= (or the form's), then the
// browser's languages, then the language the contact signed up in.
func prefsLang(explicit, acceptLanguage, contactLang string) string {
	if i18n.Supported(contactLang) {
		// The lowest preference: it wins only when the browser names no
		// language optin speaks.
		acceptLanguage += "," + contactLang + ";q=0.001"
	}
	return i18n.Match(explicit, acceptLanguage)
}

// prefsWording is the consent text above Save, recorded as evidence with a
// category ticked again.
func prefsWording(lang, business string) string {
	return i18n.T(lang, "prefs.wording", business)
}

// prefsEvidence is what a preference center request says about where it
// came from. The page's address is left out: it is the key to the page.
func prefsEvidence(r *http.Request) consent.Evidence {
	return consent.Evidence{IP: clientIP(r), UserAgent: truncate(r.UserAgent(), 512), FormVersion: prefsFormVersion}
}

// prefsLayout is the page frame, with language links to the preference
// center itself (after a POST too).
func (s *Server) prefsLayout(r *http.Request, token, lang, title string) views.LayoutModel {
	m := s.layout(r, lang, title, false)
	for i := range m.Languages {
		m.Languages[i].URL = "/p/" + token + "?lang=" + m.Languages[i].Code
	}
	return m
}

// preferencesModel builds the page for a contact in lang.
func (s *Server) preferencesModel(r *http.Request, c consent.Contact, token, lang string) (views.PreferencesModel, error) {
	items, err := s.svc.Preferences(r.Context(), c.ID, lang)
	if err != nil {
		return views.PreferencesModel{}, err
	}
	m := views.PreferencesModel{
		Layout:  s.prefsLayout(r, token, lang, i18n.T(lang, "prefs.title", s.cfg.BusinessName)),
		Action:  "/p/" + token,
		Wording: prefsWording(lang, s.cfg.BusinessName),
	}
	receipts, err := s.svc.Receipts(r.Context(), c.ID)
	if err != nil {
		return views.PreferencesModel{}, err
	}
	for _, rc := range receipts {
		var names []string
		for _, sv := range rc.Services {
			for _, p := range sv.Purposes {
				names = append(names, p.Purpose)
			}
		}
		m.Receipts = append(m.Receipts, views.ReceiptLink{
			Label: longDate(lang, time.Unix(rc.ConsentTimestamp, 0).UTC()) + ": " + strings.Join(names, ", "),
			URL:   "/p/" + token + "/receipts/" + rc.ConsentReceiptID + "?lang=" + lang,
		})
	}
	for _, it := range items {
		state := string(it.State)
		if state == "" {
			state = "none"
		}
		text := i18n.T(lang, "prefs.state."+state)
		if state != "none" && !it.Since.IsZero() {
			text = i18n.T(lang, "prefs.state.since", text, longDate(lang, it.Since))
		}
		m.Categories = append(m.Categories, views.PreferenceOption{
			Slug:        it.Category.Slug,
			Name:        it.Category.Name,
			Description: it.Category.Description,
			State:       state,
			StateText:   text,
			Checked:     it.State == consent.OptedIn || it.State == consent.Pending,
			Disabled:    it.State == "",
		})
	}
	return m, nil
}

// longDate writes a date the way the language does: "1 November 2026",
// "1. November 2026". Dates are UTC.
func longDate(lang string, t time.Time) string {
	t = t.UTC()
	months := strings.Split(i18n.T(lang, "prefs.months"), ",")
	if len(months) != 12 {
		return t.Format(time.DateOnly)
	}
	return i18n.T(lang, "prefs.date", t.Day(), months[t.Month()-1], t.Year())
}

// firstField returns the message key of the first field, by name, that a
// validation error reports.
func firstField(verr *consent.ValidationError) string {
	fields := make([]string, 0, len(verr.Fields))
	for f := range verr.Fields {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	if len(fields) == 0 {
		return "error.400.body"
	}
	return verr.Fields[fields[0]]
}

// export is the person's data as downloaded from the preference center.
type export struct {
	Business   string          `json:"business"`
	ExportedAt time.Time       `json:"exported_at"`
	Contact    exportContact   `json:"contact"`
	Consents   []exportConsent `json:"consents"`
	Events     []exportEvent   `json:"events"`
	Wordings   []exportWording `json:"wordings"`
	Sent       []exportMessage `json:"messages_sent"`
	Received   []string        `json:"messages_received"`
}

type exportContact struct {
	Phone           string                `json:"phone"`
	WaID            string                `json:"wa_id"`
	Language        string                `json:"language"`
	Status          consent.ContactStatus `json:"status"`
	CreatedAt       time.Time             `json:"created_at"`
	WindowOpenUntil *time.Time            `json:"window_open_until,omitempty"`
	EntryPoint      string                `json:"entry_point,omitempty"`
}

type exportConsent struct {
	Category string         `json:"category"`
	State    consent.State  `json:"state"`
	Since    time.Time      `json:"since"`
	Source   consent.Source `json:"source"`
}

type exportEvent struct {
	ID          int64             `json:"id"`
	Type        consent.EventType `json:"type"`
	Category    string            `json:"category,omitempty"`
	State       consent.State     `json:"state,omitempty"`
	OccurredAt  time.Time         `json:"occurred_at"`
	RecordedAt  time.Time         `json:"recorded_at"`
	WordingHash string            `json:"wording_hash,omitempty"`
	Lang        string            `json:"lang,omitempty"`
	Evidence    exportEvidence    `json:"evidence"`
}

type exportEvidence struct {
	Source      consent.Source    `json:"source"`
	IP          string            `json:"ip,omitempty"`
	UserAgent   string            `json:"user_agent,omitempty"`
	PageURL     string            `json:"page_url,omitempty"`
	EmbedOrigin string            `json:"embed_origin,omitempty"`
	EntryPoint  string            `json:"entry_point,omitempty"`
	FormVersion string            `json:"form_version,omitempty"`
	MessageID   string            `json:"message_id,omitempty"`
	MessageText string            `json:"message_text,omitempty"`
	Actor       string            `json:"actor,omitempty"`
	Detail      map[string]string `json:"detail,omitempty"`
}

type exportWording struct {
	Hash    string `json:"hash"`
	Kind    string `json:"kind"`
	Lang    string `json:"lang"`
	Version int    `json:"version"`
	Text    string `json:"text"`
}

type exportMessage struct {
	CreatedAt time.Time              `json:"created_at"`
	Purpose   string                 `json:"purpose"`
	Status    consent.DeliveryStatus `json:"status"`
	Message   consent.Message        `json:"message"`
}

// exportOf maps the domain's view of a person to the download's JSON.
func exportOf(d consent.PersonData, business string, now time.Time) export {
	c := d.Contact
	out := export{
		Business:   business,
		ExportedAt: now,
		Contact: exportContact{Phone: c.Phone, WaID: c.WaID, Language: c.Language, Status: c.Status,
			CreatedAt: c.CreatedAt, EntryPoint: c.EntryPoint},
		Consents: make([]exportConsent, 0, len(d.Consents)),
		Events:   make([]exportEvent, 0, len(d.Events)),
		Wordings: make([]exportWording, 0, len(d.Wordings)),
		Sent:     make([]exportMessage, 0, len(d.Sent)),
		Received: append(make([]string, 0, len(d.Received)), d.Received...),
	}
	if !c.WindowOpenUntil.IsZero() {
		t := c.WindowOpenUntil
		out.Contact.WindowOpenUntil = &t
	}
	for _, cs := range d.Consents {
		out.Consents = append(out.Consents, exportConsent{Category: cs.Category, State: cs.State, Since: cs.Since, Source: cs.Source})
	}
	for _, e := range d.Events {
		ev := e.Evidence
		out.Events = append(out.Events, exportEvent{ID: e.ID, Type: e.Type, Category: e.Category, State: e.State,
			OccurredAt: e.OccurredAt, RecordedAt: e.RecordedAt, WordingHash: e.WordingHash, Lang: e.Lang,
			Evidence: exportEvidence{Source: ev.Source, IP: ev.IP, UserAgent: ev.UserAgent, PageURL: ev.PageURL,
				EmbedOrigin: ev.EmbedOrigin, EntryPoint: ev.EntryPoint, FormVersion: ev.FormVersion,
				MessageID: ev.MessageID, MessageText: ev.MessageText, Actor: ev.Actor, Detail: ev.Detail}})
	}
	for _, w := range d.Wordings {
		out.Wordings = append(out.Wordings, exportWording{Hash: w.Hash, Kind: w.Kind, Lang: w.Lang, Version: w.Version, Text: w.Text})
	}
	for _, m := range d.Sent {
		out.Sent = append(out.Sent, exportMessage{CreatedAt: m.CreatedAt, Purpose: m.Purpose, Status: m.Status, Message: m.Message})
	}
	return out
}
