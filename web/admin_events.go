package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// eventFilterMessages explains the filter errors consent reports.
var eventFilterMessages = map[string]string{
	"filter.type":        "Choose a type from the list.",
	"filter.source":      "Choose a source from the list.",
	"filter.category":    "Choose a category from the list.",
	"filter.entry_point": "An entry point code has 3 to 10 letters A–Z and digits 2–9.",
	"filter.range":       "The end date must not be before the start date.",
	"filter.before":      "This page link is broken; start again from the newest.",
	"filter.date":        "Enter a date as YYYY-MM-DD.",
	"filter.actor":       "That is longer than any e-mail address.",
	"filter.action":      "That is longer than any action.",
}

func filterErrors(verr *consent.ValidationError) map[string]string {
	out := map[string]string{}
	for f, k := range verr.Fields {
		msg := eventFilterMessages[k]
		if msg == "" {
			msg = "Check this value."
		}
		out[f] = msg
	}
	return out
}

// parseDay reads a date input's YYYY-MM-DD as midnight UTC.
func parseDay(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(time.DateOnly, s)
	return t, err == nil
}

// pageHref is path with the query q and before set (or removed when 0).
func pageHref(path string, q url.Values, before int64) string {
	q2 := url.Values{}
	for k, v := range q {
		if k != "before" && len(v) > 0 && v[0] != "" {
			q2.Set(k, v[0])
		}
	}
	if before > 0 {
		q2.Set("before", strconv.FormatInt(before, 10))
	}
	if len(q2) == 0 {
		return path
	}
	return path + "?" + q2.Encode()
}

// handleEventList is the global event log, filtered and paged by id.
func (s *Server) handleEventList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fm := views.EventFilterModel{Type: q.Get("type"), Category: q.Get("category"), Source: q.Get("source"),
		EntryPoint: q.Get("entry_point"), From: q.Get("from"), To: q.Get("to")}
	m := views.EventListModel{Layout: s.adminLayout(r, "Events", "events"), Filter: fm}
	for _, t := range consent.LogEventTypes() {
		m.Types = append(m.Types, views.AdminOption{Value: string(t), Label: string(t)})
	}
	for _, src := range consent.LogSources() {
		m.Sources = append(m.Sources, views.AdminOption{Value: string(src), Label: string(src)})
	}
	cats, err := s.svc.Categories(r.Context(), "en")
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	for _, c := range cats {
		m.Categories = append(m.Categories, views.AdminOption{Value: c.Slug, Label: c.Name})
	}
	eps, err := s.svc.EntryPoints(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	for _, e := range eps {
		m.EntryPoints = append(m.EntryPoints, views.AdminOption{Value: e.Code, Label: e.Name + " (" + e.Code + ")"})
	}

	f := consent.EventFilter{Type: consent.EventType(fm.Type), Category: fm.Category, Source: consent.Source(fm.Source),
		EntryPoint: fm.EntryPoint}
	verr := &consent.ValidationError{}
	var ok bool
	if f.From, ok = parseDay(fm.From); !ok {
		verr.Add("from", "filter.date")
	}
	to, ok := parseDay(fm.To)
	if !ok {
		verr.Add("to", "filter.date")
	} else if !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the end day is included
	}
	if b := q.Get("before"); b != "" {
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
			verr.Add("before", "filter.before")
		}
	}
	var page consent.EventPage
	if err = verr.OrNil(); err == nil {
		page, err = s.svc.EventLog(r.Context(), f)
	}
	if errors.As(err, &verr) {
		m.Errors = filterErrors(verr)
		render(w, r, http.StatusUnprocessableEntity, views.EventListPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	for _, e := range page.Events {
		row := views.EventRow{ID: e.ID, ContactID: e.ContactID, ContactHref: "/admin/contacts/" + strconv.FormatInt(e.ContactID, 10),
			Type: string(e.Type), Category: e.Category, State: string(e.State), Source: string(e.Evidence.Source),
			EntryPoint: e.Evidence.EntryPoint, OccurredAt: adminSeconds(e.OccurredAt)}
		if rec := adminSeconds(e.RecordedAt); rec != row.OccurredAt {
			row.RecordedAt = rec
		}
		m.Rows = append(m.Rows, row)
	}
	if page.Next > 0 {
		m.NextHref = pageHref("/admin/events", q, page.Next)
	}
	if f.Before > 0 {
		m.FirstHref = pageHref("/admin/events", q, 0)
	}
	render(w, r, http.StatusOK, views.EventListPage(m))
}

// longDigits finds what could be a phone number in an audit entry, so that
// viewers never see one whole, whatever another page wrote into the detail.
var longDigits = regexp.MustCompile(`\+?[0-9][0-9 ]{6,}[0-9]`)

// handleAuditList is the admin audit log, filtered by actor or action and
// paged by id.
func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m := views.AuditListModel{Layout: s.adminLayout(r, "Audit log", "audit"), Actor: q.Get("actor"), Action: q.Get("action")}
	actions, err := s.svc.AuditActions(r.Context())
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	if m.Action != "" && !slices.Contains(actions, m.Action) {
		actions = append(actions, m.Action) // keeps the filter shown even when nothing matches
	}
	for _, a := range actions {
		m.Actions = append(m.Actions, views.AdminOption{Value: a, Label: a})
	}
	f := consent.AuditFilter{Actor: m.Actor, Action: m.Action}
	verr := &consent.ValidationError{}
	if b := q.Get("before"); b != "" {
		var err error
		if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
			verr.Add("before", "filter.before")
		}
	}
	var page consent.AuditPage
	err = verr.OrNil()
	if err == nil {
		page, err = s.svc.AuditLog(r.Context(), f)
	}
	if errors.As(err, &verr) {
		m.Errors = filterErrors(verr)
		render(w, r, http.StatusUnprocessableEntity, views.AuditListPage(m))
		return
	}
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	viewer := currentAdmin(r).Role != consent.RoleAdmin
	for _, e := range page.Entries {
		row := views.AuditRow{ID: e.ID, At: adminSeconds(e.At), Actor: e.Actor, Action: e.Action, Target: e.Target,
			Detail: e.Detail, IP: e.IP}
		if viewer {
			row.Target = maskDigits(row.Target)
			row.Detail = maskDigits(row.Detail)
		}
		m.Rows = append(m.Rows, row)
	}
	if page.Next > 0 {
		m.NextHref = pageHref("/admin/audit", q, page.Next)
	}
	if f.Before > 0 {
		m.FirstHref = pageHref("/admin/audit", q, 0)
	}
	render(w, r, http.StatusOK, views.AuditListPage(m))
}

// maskDigits masks every run of digits long enough to be a phone number.
func maskDigits(s string) string {
	return longDigits.ReplaceAllStringFunc(s, func(d string) string {
		return maskPhone(strings.ReplaceAll(d, " ", ""))
	})
}
