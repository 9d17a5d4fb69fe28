package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// contactErrors are the console's messages for the contact list's
// validation keys.
var contactErrors = map[string]string{
	"search.not_digits":      "Type digits of a number (spaces, +, - and brackets are ignored).",
	"category.unknown":       "Choose a category from the list.",
	"state.unknown":          "Choose a consent state from the list.",
	"status.unknown":         "Choose a status from the list.",
	"source.unknown":         "Choose a source from the list.",
	"source.with_no_consent": "Contacts with no consent have no source: choose a state or clear the source.",
	"date.field_unknown":     "Choose created or changed.",
	"date.invalid":           "Use a date like 2026-11-30.",
	"date.range_empty":       "The end date must not be before the start date.",
	"sort.unknown":           "Choose an order from the list.",
	"limit.out_of_range":     fmt.Sprintf("Show between 1 and %d contacts a page.", consent.MaxContactLimit),
	"cursor.invalid":         "That page link is no longer valid. Start again from the first page.",
	"cursor.both":            "That page link is no longer valid. Start again from the first page.",
}

// contactListParams are the list's query parameters that select contacts
// (the cursors after and before come on top).
var contactListParams = []string{"q", "category", "state", "status", "source", "entry", "date", "from", "to", "sort"}

// handleContactList is the contact list: search by any digits of the
// number, filters, and keyset pages. Viewers may search, and see every
// number masked.
func (s *Server) handleContactList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := currentAdmin(r)
	v := r.URL.Query()
	m := views.AdminContactsModel{Layout: s.adminLayout(r, "Contacts", "contacts"), Masked: u.Role != consent.RoleAdmin,
		Search: v.Get("q"), Category: v.Get("category"), State: v.Get("state"), Status: v.Get("status"),
		Source: v.Get("source"), EntryPoint: v.Get("entry"), DateField: v.Get("date"), From: v.Get("from"),
		To: v.Get("to"), Sort: v.Get("sort"), Errors: map[string]string{}}
	if r.URL.Query().Get("done") == "erased" {
		m.Layout.Flash = "The contact was erased. A tombstone and its events, without personal content, remain."
	}
	for _, p := range contactListParams {
		if p != "sort" && p != "date" && v.Get(p) != "" {
			m.Filtered = true
		}
	}
	cats, err := s.svc.Categories(ctx, "en")
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	eps, err := s.svc.EntryPoints(ctx)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	for _, c := range cats {
		m.Categories = append(m.Categories, views.Option{Value: c.Slug, Label: c.Name})
		m.Columns = append(m.Columns, views.Option{Value: c.Slug, Label: c.Name})
	}
	for _, st := range consent.ContactStates() {
		label := string(st)
		if st == consent.NoConsent {
			label = "no consent"
		}
		m.States = append(m.States, views.Option{Value: string(st), Label: label})
	}
	for _, st := range consent.ContactStatuses() {
		m.Statuses = append(m.Statuses, views.Option{Value: string(st), Label: string(st)})
	}
	for _, src := range consent.Sources() {
		m.Sources = append(m.Sources, views.Option{Value: string(src), Label: string(src)})
	}
	for _, e := range eps {
		m.EntryPoints = append(m.EntryPoints, views.Option{Value: e.Code, Label: e.Code + " · " + e.Name})
	}
	m.DateFields = []views.Option{{Value: string(consent.DateCreated), Label: "created"}, {Value: string(consent.DateChanged), Label: "changed"}}
	m.Sorts = []views.Option{{Value: string(consent.SortCreated), Label: "Newest first"},
		{Value: string(consent.SortChanged), Label: "Recently changed first"}, {Value: string(consent.SortPhone), Label: "By number"}}

	q := consent.ContactQuery{Search: m.Search, Category: m.Category, State: consent.State(m.State),
		Status: consent.ContactStatus(m.Status), Source: consent.Source(m.Source), EntryPoint: m.EntryPoint,
		DateField: consent.DateField(m.DateField), Sort: consent.ContactSort(m.Sort),
		After: v.Get("after"), Before: v.Get("before")}
	if m.From != "" {
		if q.From, err = time.Parse(adminDate, m.From); err != nil {
			m.Errors["from"] = contactErrors["date.invalid"]
		}
	}
	if m.To != "" {
		// The form's "to" is inclusive: up to the end of that day.
		if to, err := time.Parse(adminDate, m.To); err != nil {
			m.Errors["to"] = contactErrors["date.invalid"]
		} else {
			q.To = to.AddDate(0, 0, 1)
		}
	}
	if len(m.Errors) > 0 {
		render(w, r, http.StatusUnprocessableEntity, views.AdminContactsPage(m))
		return
	}
	page, err := s.svc.SearchContacts(ctx, q)
	var verr *consent.ValidationError
	if errors.As(err, &verr) {
		for f, k := range verr.Fields {
			if f == "limit" {
				f = "cursor"
			}
			m.Errors[f] = contactErrors[k]
			if m.Errors[f] == "" {
				m.Errors[f] = "Check this value."
			}
		}
		render(w, r, http.StatusUnprocessableEntity, views.AdminContactsPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if page.Prefix {
		m.Notice = fmt.Sprintf("Fewer than %d digits: showing numbers that start with +%s. Type %d or more digits to match anywhere in the number.",
			consent.MinSearchDigits, page.Digits, consent.MinSearchDigits)
	}
	for _, row := range page.Rows {
		states := make([]string, len(cats))
		for _, c := range row.Consents {
			if i := slices.IndexFunc(cats, func(x consent.Category) bool { return x.Slug == c.Category }); i >= 0 {
				states[i] = string(c.State)
			}
		}
		m.Rows = append(m.Rows, views.AdminContactRow{ID: row.Contact.ID,
			Href:  "/admin/contacts/" + strconv.FormatInt(row.Contact.ID, 10),
			Phone: showPhone(u, row.Contact.Phone), Status: string(row.Contact.Status), Language: row.Contact.Language,
			Created: listTime(row.Contact.CreatedAt), Changed: listTime(row.UpdatedAt), EntryPoint: row.Contact.EntryPoint,
			States: states})
	}
	keep := url.Values{}
	for _, p := range contactListParams {
		if x := v.Get(p); x != "" {
			keep.Set(p, x)
		}
	}
	link := func(param, cursor string) string {
		l := url.Values{}
		for k, x := range keep {
			l[k] = x
		}
		if param != "" {
			l.Set(param, cursor)
		}
		if len(l) == 0 {
			return "/admin/contacts"
		}
		return "/admin/contacts?" + l.Encode()
	}
	if page.Next != "" {
		m.NextURL = link("after", page.Next)
	}
	if page.Prev != "" {
		m.PrevURL = link("before", page.Prev)
	}
	m.FirstURL = link("", "")
	render(w, r, http.StatusOK, views.AdminContactsPage(m))
}

// contactID reads the {id} of a contact route; a malformed one is not found.
func contactID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, consent.ErrNotFound
	}
	return id, nil
}

// handleContactShow is the contact page.
func (s *Server) handleContactShow(w http.ResponseWriter, r *http.Request) {
	id, err := contactID(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	d, err := s.svc.ContactDetail(r.Context(), id)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	u := currentAdmin(r)
	phone := showPhone(u, d.Contact.Phone)
	waID := d.Contact.WaID
	if u.Role != consent.RoleAdmin {
		waID = strings.TrimPrefix(maskPhone("+"+waID), "+")
	}
	m := views.AdminContactModel{Layout: s.adminLayout(r, phone, "contacts"), ID: d.Contact.ID, Phone: phone, WaID: waID,
		Status: string(d.Contact.Status), Language: d.Contact.Language, Created: consoleTime(d.Contact.CreatedAt),
		Window: consoleTime(d.Contact.WindowOpenUntil), EntryPoint: d.Contact.EntryPoint,
		CanChange: u.Role == consent.RoleAdmin, BackURL: "/admin/contacts"}
	switch r.URL.Query().Get("done") {
	case "opted_out":
		m.Layout.Flash = "Opted out. The change is recorded as your act in the contact's timeline and the audit log."
	case "nothing":
		m.Layout.Flash = "Nothing to change: the contact was not opted in there."
	}
	for _, c := range d.Categories {
		item := views.AdminConsentItem{Slug: c.Slug, Name: c.Name}
		if st, ok := d.Consents[c.Slug]; ok {
			item.State, item.Since, item.Source = string(st.State), consoleTime(st.Since), string(st.Source)
			item.CanOptOut = st.State == consent.OptedIn || st.State == consent.Pending
			m.AnyActive = m.AnyActive || item.CanOptOut
		}
		m.Consents = append(m.Consents, item)
	}
	for i := len(d.Events) - 1; i >= 0; i-- {
		m.Events = append(m.Events, eventItem(d.Events[i], d.Wordings))
	}
	for _, in := range d.Inbound {
		m.Inbound = append(m.Inbound, views.AdminInboundItem{At: consoleTime(in.ReceivedAt), Type: in.Type, Text: in.Text,
			ButtonID: in.ButtonID, ProviderID: in.ProviderID})
	}
	for _, o := range d.Outbox {
		item := views.AdminOutboxItem{At: consoleTime(o.CreatedAt), Purpose: o.Purpose, Kind: string(o.Message.Kind),
			Preview: messagePreview(o.Message), Status: string(o.Status), Attempts: o.Attempts, ProviderID: o.ProviderID,
			Updated: consoleTime(o.UpdatedAt)}
		if o.ErrorCode != 0 || o.ErrorTitle != "" {
			item.Error = strings.TrimSpace(fmt.Sprintf("%s %s", codeOrEmpty(o.ErrorCode), o.ErrorTitle))
		}
		m.Outbox = append(m.Outbox, item)
	}
	render(w, r, http.StatusOK, views.AdminContactPage(m))
}

func codeOrEmpty(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// eventItem is one timeline entry with every piece of evidence it holds.
func eventItem(e consent.Event, wordings map[string]consent.Wording) views.AdminEventItem {
	ev := e.Evidence
	item := views.AdminEventItem{ID: e.ID, Type: string(e.Type), Category: e.Category, State: string(e.State),
		Source: string(ev.Source), OccurredAt: consoleTime(e.OccurredAt), RecordedAt: e.RecordedAt.UTC().Format(time.RFC3339Nano),
		Lang: e.Lang, WordingHash: e.WordingHash}
	for _, kv := range [][2]string{{"Actor", ev.Actor}, {"IP (truncated)", ev.IP}, {"User agent", ev.UserAgent},
		{"Page", ev.PageURL}, {"Embedded on", ev.EmbedOrigin}, {"Entry point", ev.EntryPoint}, {"Form version", ev.FormVersion},
		{"WhatsApp message id", ev.MessageID}, {"Message text", ev.MessageText}} {
		if kv[1] != "" {
			item.Evidence = append(item.Evidence, views.Option{Label: kv[0], Value: kv[1]})
		}
	}
	keys := make([]string, 0, len(ev.Detail))
	for k := range ev.Detail {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		item.Evidence = append(item.Evidence, views.Option{Label: strings.ReplaceAll(k, "_", " "), Value: ev.Detail[k]})
	}
	if w, ok := wordings[e.WordingHash]; ok {
		item.WordingText = w.Text
		item.WordingLabel = fmt.Sprintf("%s wording, version %d, %s", w.Kind, w.Version, w.Lang)
	}
	// Erased events lose every personal field; the type and source stay.
	item.Erased = len(item.Evidence) == 0 && e.WordingHash == ""
	return item
}

// messagePreview is what a sent message said, as far as the console
// knows. The outbox never holds a live preference link, only its
// placeholder, filled at send time.
func messagePreview(m consent.Message) string {
	return strings.ReplaceAll(rawPreview(m), consent.LinkPlaceholder, "[personal preference link]")
}

func rawPreview(m consent.Message) string {
	switch {
	case m.Template != nil && m.Template.Preview != "":
		return m.Template.Preview
	case m.Template != nil:
		return "template " + m.Template.Name
	case m.Interactive != nil:
		return m.Interactive.Body
	}
	return m.Text
}

// handleContactOptOut opts a contact out of one category (form field
// category) or of everything (no category), after a confirmation page: the
// first POST shows it, the second with confirm=yes acts.
func (s *Server) handleContactOptOut(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := contactID(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	c, err := s.svc.ContactDetail(ctx, id)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	slug := strings.TrimSpace(r.PostFormValue("category"))
	name := ""
	if slug != "" {
		i := slices.IndexFunc(c.Categories, func(x consent.Category) bool { return x.Slug == slug })
		if i < 0 {
			s.failAdmin(w, r, &consent.ValidationError{Fields: map[string]string{"category": "category.unknown"}})
			return
		}
		name = c.Categories[i].Name
	}
	back := "/admin/contacts/" + strconv.FormatInt(id, 10)
	if r.PostFormValue("confirm") != "yes" {
		m := views.AdminConfirmModel{Layout: s.adminLayout(r, "Confirm opt-out", "contacts"),
			Subject: c.Contact.Phone, Action: back + "/opt-out", CancelURL: back, Button: "Opt out"}
		if slug != "" {
			m.Hidden = []views.HiddenField{{Name: "category", Value: slug}}
			m.Title = "Opt out of " + name + "?"
			m.Message = "This contact will no longer receive " + name + " messages."
		} else {
			m.Title = "Opt out of everything?"
			m.Message = "This contact will no longer receive any category, and messages still queued for it are cancelled."
			m.Button = "Opt out of everything"
		}
		m.Consequence = "The opt-out is recorded in the contact's timeline as your act (source admin, " +
			consent.AdminAct{Email: currentAdmin(r).Email}.Actor() + ") and in the audit log. Opting in again takes a new consent from the person."
		render(w, r, http.StatusOK, views.AdminConfirmPage(m))
		return
	}
	changed, err := s.svc.AdminOptOut(ctx, id, slug, consent.AdminAct{Email: currentAdmin(r).Email, IP: clientIP(r)})
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	action := "contact.opt_out"
	if slug == "" {
		action = "contact.opt_out_all"
	}
	if len(changed) == 0 {
		http.Redirect(w, r, back+"?done=nothing", http.StatusSeeOther)
		return
	}
	// The audit row names the contact by id only: a number in the audit log
	// would outlive the contact's erasure.
	if err := s.auditFirst(r, action, "contact:"+strconv.FormatInt(id, 10), map[string]any{"categories": changed}); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	http.Redirect(w, r, back+"?done=opted_out", http.StatusSeeOther)
}

// handleContactErase erases a contact after a confirmation page, through
// the same erasure as every other (tombstone reason admin).
func (s *Server) handleContactErase(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := contactID(r)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	c, err := s.svc.ContactDetail(ctx, id)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	back := "/admin/contacts/" + strconv.FormatInt(id, 10)
	if r.PostFormValue("confirm") != "yes" {
		render(w, r, http.StatusOK, views.AdminConfirmPage(views.AdminConfirmModel{
			Layout: s.adminLayout(r, "Confirm erasure", "contacts"), Subject: c.Contact.Phone,
			Action: back + "/erase", CancelURL: back, Danger: true, Button: "Erase for good",
			Title: "Erase this contact?",
			Message: fmt.Sprintf("The contact, its %d consents, the messages it wrote and was sent, and the personal content of its %d events are deleted. This cannot be undone.",
				len(c.Consents), len(c.Events)),
			Consequence: "A tombstone (a salted hash of the number, the time, reason admin and you as the actor) and the events without personal content remain, so the ledger still verifies. The erasure is recorded in the audit log.",
		}))
		return
	}
	if err := s.svc.EraseByAdmin(ctx, id, consent.AdminAct{Email: currentAdmin(r).Email, IP: clientIP(r)}); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if err := s.auditFirst(r, "contact.erase", "contact:"+strconv.FormatInt(id, 10), map[string]any{"reason": "admin"}); err != nil {
		s.failAdmin(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/contacts?done=erased", http.StatusSeeOther)
}
