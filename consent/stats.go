package consent

import (
	"context"
	"strings"
	"time"
)

// StatsStore reads the numbers behind the admin dashboard and /metrics, and
// keeps the alerts admins must see.
type StatsStore interface {
	// Stats returns the current counts, with events per day from since on,
	// read in one snapshot.
	Stats(ctx context.Context, since time.Time) (Stats, error)
	// EventTotals counts every event ever recorded by type, category and source.
	EventTotals(ctx context.Context) ([]EventTotal, error)
	// OpenAlerts returns up to limit unresolved alerts, newest first.
	OpenAlerts(ctx context.Context, limit int) ([]OpenAlert, error)
	// ResolveAlert marks an unresolved alert resolved at at and returns it;
	// ErrNotFound when there is no such unresolved alert.
	ResolveAlert(ctx context.Context, id int64, at time.Time) (OpenAlert, error)
	// EventLog returns up to f.Limit events matching f, newest first, with
	// ids below f.Before when it is set. Personal evidence (IP, user agent,
	// page, message id and text, detail) is left out.
	EventLog(ctx context.Context, f EventFilter) ([]Event, error)
	// AuditLog returns up to f.Limit entries of the admin audit log matching
	// f, newest first, with ids below f.Before when it is set.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// AuditActions lists the distinct actions in the audit log, sorted.
	AuditActions(ctx context.Context) ([]string, error)
}

// LedgerStore verifies the events' hash chain and remembers the checks.
type LedgerStore interface {
	// VerifyLedger walks the chain, records the check at now and reports it.
	VerifyLedger(ctx context.Context, now time.Time) (LedgerReport, error)
	// LastLedgerCheck returns the latest check, or ErrNotFound.
	LastLedgerCheck(ctx context.Context) (LedgerCheck, error)
}

// Count is a number of things of one kind.
type Count struct {
	Key string
	N   int64
}

// ConsentCount is the number of contacts in one state for one category.
type ConsentCount struct {
	Category string // slug
	State    State
	N        int64
}

// DayCount is what happened on one UTC day.
type DayCount struct {
	Day     time.Time // midnight UTC
	OptIns  int64
	OptOuts int64
}

// SourceCount is how many opt-ins and opt-outs came through one source.
type SourceCount struct {
	Source  Source
	OptIns  int64
	OptOuts int64
}

// EventTotal counts the events of one type, category and source.
type EventTotal struct {
	Type     EventType
	Category string
	Source   Source
	N        int64
}

// OutboxHealth is the state of the outgoing messages.
type OutboxHealth struct {
	// ByStatus counts the messages per delivery status, every status present.
	ByStatus map[DeliveryStatus]int64
	// Retrying counts the queued messages that already failed at least once.
	Retrying int64
	// Failures counts failed and dead messages by status and error class
	// (Key is "status/class").
	Failures []Count
}

// Queued is how many messages wait to be sent, retries included.
func (h OutboxHealth) Queued() int64 { return h.ByStatus[StatusQueued] + h.ByStatus[StatusSending] }

// Dead is how many messages were given up after their retries (dead letters).
func (h OutboxHealth) Dead() int64 { return h.ByStatus[StatusDead] }

// Stats are the current counts of the whole database.
type Stats struct {
	Contacts []Count // per ContactStatus
	Consents []ConsentCount
	// Days has the opt-ins and opt-outs per day from since on, only days
	// with events (Service.Dashboard fills the gaps).
	Days []DayCount
	// Sources has the opt-ins and opt-outs per source from since on.
	Sources []SourceCount
	Outbox  OutboxHealth
	// InboxPending counts the webhook calls stored and not yet processed,
	// InboxFailed those that could not be processed, InboxIgnored those
	// kept because they carry nothing optin acts on (IgnoredPrefix).
	InboxPending, InboxFailed, InboxIgnored int64
	// IgnoredInbox are the latest of the ignored calls, newest first, with
	// the reason, for admins.
	IgnoredInbox []InboxNote
	// Alerts counts the unresolved alerts per kind.
	Alerts []Count
}

// InboxNote is a webhook call kept in the inbox with the reason it was
// not acted on.
type InboxNote struct {
	ID         int64
	ReceivedAt time.Time
	Reason     string
}

// OpenAlert is an alert with its id, so that an admin can resolve it.
type OpenAlert struct {
	ID int64
	Alert
	ResolvedAt time.Time
}

// DashboardDays is how many days the dashboard's chart covers, today included.
const DashboardDays = 30

// Dashboard is everything the admin dashboard shows.
type Dashboard struct {
	Stats
	// Days has one entry per day of the last DashboardDays, oldest first.
	Days        []DayCount
	EntryPoints []EntryPoint
	Alerts      []OpenAlert
	// LastCheck is the latest ledger verification; zero At when none ran.
	LastCheck LedgerCheck
}

// dashboardAlerts bounds the alerts listed on the dashboard.
const dashboardAlerts = 50

// Dashboard gathers the admin dashboard's numbers at the clock's now.
func (s *Service) Dashboard(ctx context.Context) (Dashboard, error) {
	today := s.clock.Now().UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(DashboardDays - 1))
	st, err := s.store.Stats(ctx, since)
	if err != nil {
		return Dashboard{}, err
	}
	d := Dashboard{Stats: st}
	byDay := make(map[time.Time]DayCount, len(st.Days))
	for _, dc := range st.Days {
		byDay[dc.Day] = dc
	}
	for day := since; !day.After(today); day = day.AddDate(0, 0, 1) {
		dc := byDay[day]
		dc.Day = day
		d.Days = append(d.Days, dc)
	}
	if d.EntryPoints, err = s.store.EntryPoints(ctx); err != nil {
		return Dashboard{}, err
	}
	if d.Alerts, err = s.store.OpenAlerts(ctx, dashboardAlerts); err != nil {
		return Dashboard{}, err
	}
	if d.LastCheck, err = s.LastLedgerCheck(ctx); err != nil {
		return Dashboard{}, err
	}
	return d, nil
}

// Metrics are the database-derived numbers /metrics exposes.
type Metrics struct {
	Stats
	Events    []EventTotal
	LastCheck LedgerCheck
}

// Metrics reads the numbers /metrics exposes.
func (s *Service) Metrics(ctx context.Context) (Metrics, error) {
	st, err := s.store.Stats(ctx, s.clock.Now().UTC().Truncate(24*time.Hour))
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{Stats: st}
	if m.Events, err = s.store.EventTotals(ctx); err != nil {
		return Metrics{}, err
	}
	if m.LastCheck, err = s.LastLedgerCheck(ctx); err != nil {
		return Metrics{}, err
	}
	return m, nil
}

// ResolveAlert marks an unresolved alert resolved; ErrNotFound when there
// is none with that id.
func (s *Service) ResolveAlert(ctx context.Context, id int64) (OpenAlert, error) {
	if id <= 0 {
		return OpenAlert{}, ErrNotFound
	}
	return s.store.ResolveAlert(ctx, id, s.clock.Now())
}

// VerifyLedger walks the events' hash chain now and records the check.
func (s *Service) VerifyLedger(ctx context.Context) (LedgerReport, error) {
	return s.store.VerifyLedger(ctx, s.clock.Now())
}

// LastLedgerCheck returns the latest verification of the ledger; a zero At
// when none ran yet.
func (s *Service) LastLedgerCheck(ctx context.Context) (LedgerCheck, error) {
	c, err := s.store.LastLedgerCheck(ctx)
	if err == ErrNotFound {
		return LedgerCheck{}, nil
	}
	return c, err
}

// EventFilter selects events of the global log. Zero fields match anything.
type EventFilter struct {
	Type       EventType
	Category   string
	Source     Source
	EntryPoint string
	// From and To bound occurred_at: From <= occurred_at < To.
	From, To time.Time
	// Before pages: only events with a smaller id (0: from the newest).
	Before int64
	Limit  int
}

// EventPage is one page of the global event log.
type EventPage struct {
	Events []Event
	// Next is the Before of the following page; 0 on the last page.
	Next int64
}

// Bounds of an event log page.
const (
	EventPageDefault = 50
	EventPageMax     = 200
)

var logEventTypes = map[EventType]bool{EventOptIn: true, EventOptOut: true, EventConfirm: true, EventTermsAccepted: true,
	EventTermsRefused: true, EventErased: true, EventUndeliverable: true, EventWindowOpened: true, EventNumberChanged: true}

// LogEventTypes lists the event types, for filters.
func LogEventTypes() []EventType {
	return []EventType{EventOptIn, EventOptOut, EventConfirm, EventTermsAccepted, EventTermsRefused, EventErased,
		EventUndeliverable, EventWindowOpened, EventNumberChanged}
}

// LogSources lists the sources of events, for filters.
func LogSources() []Source {
	return []Source{SourceWebForm, SourceEmbed, SourceLink, SourceQR, SourceWhatsAppReply, SourceKeyword,
		SourcePreferenceCenter, SourceAdmin, SourceAPI, SourceImport, SourceProvider}
}

// logSourceKnown reports whether src is one of LogSources.
func logSourceKnown(src Source) bool {
	for _, s := range LogSources() {
		if s == src {
			return true
		}
	}
	return false
}

// EventLog returns one page of the global event log, newest first. An
// unknown type or source, a malformed category or entry point code, or a
// range that ends before it starts is a ValidationError.
func (s *Service) EventLog(ctx context.Context, f EventFilter) (EventPage, error) {
	verr := &ValidationError{}
	if f.Type != "" && !logEventTypes[f.Type] {
		verr.Add("type", "filter.type")
	}
	if f.Source != "" && !logSourceKnown(f.Source) {
		verr.Add("source", "filter.source")
	}
	if f.Category != "" && !slugLike(f.Category) {
		verr.Add("category", "filter.category")
	}
	f.EntryPoint = strings.ToUpper(strings.TrimSpace(f.EntryPoint))
	if f.EntryPoint != "" && !codeLike(f.EntryPoint) {
		verr.Add("entry_point", "filter.entry_point")
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		verr.Add("to", "filter.range")
	}
	if f.Before < 0 {
		verr.Add("before", "filter.before")
	}
	if err := verr.OrNil(); err != nil {
		return EventPage{}, err
	}
	if f.Limit <= 0 {
		f.Limit = EventPageDefault
	}
	f.Limit = min(f.Limit, EventPageMax)
	want := f.Limit
	f.Limit++ // one more tells whether a next page exists
	evs, err := s.store.EventLog(ctx, f)
	if err != nil {
		return EventPage{}, err
	}
	var p EventPage
	if len(evs) > want {
		evs = evs[:want]
		p.Next = evs[want-1].ID
	}
	p.Events = evs
	return p, nil
}

// slugLike reports whether s could be a category slug (the schema's rule).
func slugLike(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// codeLike reports whether s could be an entry point code (the schema's rule).
func codeLike(s string) bool {
	if len(s) < 3 || len(s) > 10 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '9') {
			return false
		}
	}
	return true
}

// AuditFilter selects entries of the admin audit log. Zero fields match
// anything; Actor and Action match exactly.
type AuditFilter struct {
	Actor  string
	Action string
	Before int64
	Limit  int
}

// AuditPage is one page of the admin audit log.
type AuditPage struct {
	Entries []AuditEntry
	// Next is the Before of the following page; 0 on the last page.
	Next int64
}

// AuditActions lists the actions the audit log holds, for its filter.
func (s *Service) AuditActions(ctx context.Context) ([]string, error) {
	return s.store.AuditActions(ctx)
}

// AuditLog returns one page of the admin audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) (AuditPage, error) {
	verr := &ValidationError{}
	f.Actor = strings.ToLower(strings.TrimSpace(f.Actor))
	f.Action = strings.TrimSpace(f.Action)
	if len(f.Actor) > 254 {
		verr.Add("actor", "filter.actor")
	}
	if len(f.Action) > 64 {
		verr.Add("action", "filter.action")
	}
	if f.Before < 0 {
		verr.Add("before", "filter.before")
	}
	if err := verr.OrNil(); err != nil {
		return AuditPage{}, err
	}
	if f.Limit <= 0 {
		f.Limit = EventPageDefault
	}
	f.Limit = min(f.Limit, EventPageMax)
	want := f.Limit
	f.Limit++
	entries, err := s.store.AuditLog(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	var p AuditPage
	if len(entries) > want {
		entries = entries[:want]
		p.Next = entries[want-1].ID
	}
	p.Entries = entries
	return p, nil
}
