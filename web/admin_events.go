package web

import (
	"encoding/json"
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
		m.Types = append(m.Types, views.AdminOption{Value: string(t), Label: views.Label(string(t))})
	}
	for _, src := range consent.LogSources() {
		m.Sources = append(m.Sources, views.AdminOption{Value: string(src), Label: views.Label(string(src))})
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
	ids := make([]int64, len(page.Events))
	for i, e := range page.Events {
		ids[i] = e.ContactID
	}
	phones, err := s.svc.ContactPhones(r.Context(), ids)
	if err != nil {
		s.failAdmin(w, r, err)
		return
	}
	for _, e := range page.Events {
		row := views.EventRow{ID: e.ID, ContactID: e.ContactID,
			Type: string(e.Type), Category: e.Category, State: string(e.State), Source: string(e.Evidence.Source),
			EntryPoint: e.Evidence.EntryPoint, OccurredAt: adminSeconds(e.OccurredAt)}
		// The log names people by their number, masked for everyone: who it
		// is takes a click, to the contact's page. Erased contacts have none.
		if phone, ok := phones[e.ContactID]; ok {
			row.Contact = maskPhone(phone)
			row.ContactHref = "/admin/contacts/" + strconv.FormatInt(e.ContactID, 10)
		}
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
		m.Actions = append(m.Actions, views.AdminOption{Value: a, Label: views.Label(a)})
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
			Detail: auditLines(e.Detail), IP: e.IP}
		if viewer {
			row.Target = maskDigits(row.Target)
			for i := range row.Detail {
				row.Detail[i] = maskDigits(row.Detail[i])
			}
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

// auditLines turns an audit entry's JSON detail into readable lines, one
// "what: value" per field in the order it was written: lists joined with
// commas, yes/no for booleans. Detail that is not a JSON object is one line
// as it is.
func auditLines(detail string) []string {
	detail = strings.TrimSpace(detail)
	if detail == "" || detail == "{}" || detail == "null" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(detail))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return []string{detail}
	}
	var lines []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return []string{detail}
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return []string{detail}
		}
		lines = append(lines, auditKey(key)+": "+auditValue(v))
	}
	return lines
}

// auditKey is a detail field's name in words: "new_role" → "New role".
func auditKey(k string) string {
	k = strings.ReplaceAll(k, "_", " ")
	if k == "" {
		return k
	}
	return strings.ToUpper(k[:1]) + k[1:]
}

func auditValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "–"
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case string:
		if v == "" {
			return "–"
		}
		return v
	case json.Number:
		return thousands(v.String())
	case []any:
		if len(v) == 0 {
			return "none"
		}
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = auditValue(x)
		}
		return strings.Join(parts, ", ")
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// thousands writes a whole number with thousands separators; anything else
// is returned as it is.
func thousands(s string) string {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return s
	}
	return views.Count(n)
}
