package consent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of recording consent reported by another system (the API) or an
// import. ErrErased and ErrStale are conflicts with what is on record.
var (
	// ErrErased: the number was erased, and the request carries no new
	// evidence of an explicit act of the person since (see NewEvidence).
	ErrErased = fmt.Errorf("number erased: %w", ErrConflict)
	// ErrStale: the category changed later than the reported occurred_at,
	// so the report can't become the current state.
	ErrStale = fmt.Errorf("a later change is on record: %w", ErrConflict)
	// ErrPending: an opt-in reported for a consent that awaits the
	// person's own confirmation (double opt-in); only they can give it.
	ErrPending = fmt.Errorf("awaiting the person's confirmation: %w", ErrConflict)
	// ErrIdempotencyMismatch: an Idempotency-Key was used again with a
	// different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused with another request")
)

// Limits of the evidence another system may attach to a consent.
const (
	MaxEvidenceKeys       = 32
	MaxEvidenceKeyBytes   = 64
	MaxEvidenceBytes      = 4096 // keys and values together
	MaxIdempotencyKeySize = 255
)

// Evidence keys with a meaning of their own.
const (
	// EvidenceCollectedAt (RFC 3339) and EvidenceDescription, together, are
	// the new evidence that lets an erased number be recorded again.
	EvidenceCollectedAt = "collected_at"
	EvidenceDescription = "description"
	// EvidenceWording is the consent text the person was shown; it is stored
	// once and referenced by its SHA-256, in EvidenceLanguage ("en" unset).
	EvidenceWording  = "wording"
	EvidenceLanguage = "language"
)

// APISources are the sources another system may give a consent over the
// API: "api" (the default: the business's system collected it and reports
// it) and "import" (a migration of records kept elsewhere). The sources of
// optin's own channels (web_form, keyword, …) are refused, because their
// events carry evidence optin itself saw (wording shown, IP, message id)
// and a report from outside must not pass for one; where the business
// collected it goes into the evidence instead (for example "channel").
var APISources = []Source{SourceAPI, SourceImport}

// ConsentRecord is a consent change reported from outside optin.
type ConsentRecord struct {
	Phone      string // in any common format
	Category   string
	State      State // OptedIn or OptedOut
	Source     Source
	OccurredAt time.Time // zero: now
	Evidence   map[string]string
	Actor      string // "api:<key name>" or "admin:<email>"
	// Idempotency, when set, makes a repeated request answer as the first.
	Idempotency *Idempotency
}

// Idempotency identifies one request of one API key.
type Idempotency struct {
	KeyID       int64
	Key         string
	RequestHash string
}

// ConsentWrite is a validated ConsentRecord, as the store applies it.
type ConsentWrite struct {
	Phone      string // E.164
	PhoneHash  string // salted, to find a tombstone
	Category   string
	State      State
	OccurredAt time.Time
	At         time.Time // when optin records it
	Lang       string
	Wording    *Wording
	Evidence   Evidence
	// CollectedAt is when the new evidence was collected, zero when the
	// record carries none (no description or no collected_at).
	CollectedAt time.Time
	Idempotency *Idempotency
}

// NewEvidence reports whether w carries new evidence of an explicit act of
// the person after an erasure at erasedAt: a description of the act and
// the time it was collected, both the collection and the change itself
// after the erasure. Without it, an erased number stays erased.
func NewEvidence(w ConsentWrite, erasedAt time.Time) bool {
	return !w.CollectedAt.IsZero() && w.CollectedAt.After(erasedAt) && w.OccurredAt.After(erasedAt)
}

// DecideReport decides a consent reported from outside on the contact's
// current consents. A number erased at erasedAt with no contact since stays
// erased without new evidence (ErrErased); the rest is Decide's ActReport.
func DecideReport(current []Consent, exists bool, erasedAt time.Time, w ConsentWrite) ([]Transition, error) {
	if !exists && !erasedAt.IsZero() && !NewEvidence(w, erasedAt) {
		return nil, ErrErased
	}
	return Decide(current, Act{Kind: ActReport, Categories: []string{w.Category}, Target: w.State, OccurredAt: w.OccurredAt})
}

// LedgerEvent is an event with the number of its contact, "" when the
// contact was erased (its personal fields are then empty too).
type LedgerEvent struct {
	Event
	Phone  string
	Erased bool
}

// RecordOutcome is what recording one consent did.
type RecordOutcome struct {
	Event LedgerEvent
	// Changed: a new event was recorded. When false the state already was
	// the one reported, and Event is the event that made it so.
	Changed bool
	// Replayed: the Idempotency-Key was seen before with this request.
	Replayed bool
	// Err is why the record was refused (ErrErased, ErrStale), in a batch.
	Err error
}

// RecordStore applies consents reported from outside and reads the ledger
// as other systems see it.
type RecordStore interface {
	// RecordConsent applies w in one transaction: the contact when new,
	// the event and the derived consent state, and the idempotency key.
	RecordConsent(ctx context.Context, w ConsentWrite) (RecordOutcome, error)
	// LedgerEvents returns up to limit events with ids above after, by id.
	LedgerEvents(ctx context.Context, after int64, limit int) ([]LedgerEvent, error)
}

// RecordConsent validates and records a consent reported by another system.
// An invalid record is a *ValidationError and changes nothing; an erased
// number without new evidence is ErrErased; a record older than the
// current state of its category is ErrStale (unless it changes nothing).
func (s *Service) RecordConsent(ctx context.Context, r ConsentRecord) (RecordOutcome, error) {
	w, err := s.validateRecord(ctx, r, s.clock.Now())
	if err != nil {
		return RecordOutcome{}, err
	}
	return s.store.RecordConsent(ctx, w)
}

// validateRecord checks r and turns it into a write at now.
func (s *Service) validateRecord(ctx context.Context, r ConsentRecord, now time.Time) (ConsentWrite, error) {
	return s.validateRecordWith(ctx, r, now, ParsePhone)
}

// validateRecordWith is validateRecord parsing the number with parse
// (ParsePhone, or the import's memo of it).
func (s *Service) validateRecordWith(ctx context.Context, r ConsentRecord, now time.Time, parse func(raw, region string) (string, error)) (ConsentWrite, error) {
	verr := &ValidationError{}
	phone, err := parse(r.Phone, s.cfg.DefaultRegion)
	if err != nil {
		ve, ok := err.(*ValidationError)
		if !ok {
			return ConsentWrite{}, err
		}
		for f, k := range ve.Fields {
			verr.Add(f, k)
		}
	}
	cats, err := s.Categories(ctx, "en")
	if err != nil {
		return ConsentWrite{}, err
	}
	known := false
	for _, c := range cats {
		known = known || c.Slug == r.Category
	}
	switch {
	case r.Category == "":
		verr.Add("category", "category.required")
	case !known:
		verr.Add("category", "category.unknown")
	}
	if r.State != OptedIn && r.State != OptedOut {
		verr.Add("state", "state.invalid")
	}
	if r.Source == "" {
		r.Source = SourceAPI
	}
	okSource := false
	for _, src := range APISources {
		okSource = okSource || r.Source == src
	}
	if !okSource {
		verr.Add("source", "source.not_allowed")
	}
	at := r.OccurredAt
	if at.IsZero() {
		at = now
	}
	if at.After(now) {
		verr.Add("occurred_at", "occurred_at.future")
	}
	w := ConsentWrite{Phone: phone, Category: r.Category, State: r.State, OccurredAt: at.UTC(), At: now,
		Lang: "en", Idempotency: r.Idempotency}
	detail := checkEvidence(r.Evidence, now, verr)
	if err := verr.OrNil(); err != nil {
		return ConsentWrite{}, err
	}
	if l := detail[EvidenceLanguage]; l != "" {
		w.Lang = l
	}
	if text := detail[EvidenceWording]; text != "" {
		wd := NewWording("consent", w.Lang, text)
		w.Wording = &wd
		delete(detail, EvidenceWording)
	}
	if strings.TrimSpace(detail[EvidenceDescription]) != "" {
		if t, err := time.Parse(time.RFC3339, detail[EvidenceCollectedAt]); err == nil {
			w.CollectedAt = t.UTC()
		}
	}
	w.PhoneHash = s.PhoneHash(phone)
	w.Evidence = Evidence{Source: r.Source, Actor: r.Actor, Detail: detail}
	return w, nil
}

// checkEvidence bounds the evidence and checks the keys with a meaning.
func checkEvidence(ev map[string]string, now time.Time, verr *ValidationError) map[string]string {
	size := 0
	out := make(map[string]string, len(ev))
	for k, v := range ev {
		size += len(k) + len(v)
		if k == "" || len(k) > MaxEvidenceKeyBytes || !utf8.ValidString(k) || !utf8.ValidString(v) {
			verr.Add("evidence", "evidence.key")
		}
		out[k] = v
	}
	if len(ev) > MaxEvidenceKeys || size > MaxEvidenceBytes {
		verr.Add("evidence", "evidence.too_large")
	}
	if c, ok := ev[EvidenceCollectedAt]; ok {
		t, err := time.Parse(time.RFC3339, c)
		switch {
		case err != nil:
			verr.Add("evidence", "evidence.collected_at")
		case t.After(now):
			verr.Add("evidence", "evidence.collected_at_future")
		}
	}
	if l, ok := ev[EvidenceLanguage]; ok && (len(l) < 2 || len(l) > 10) {
		verr.Add("evidence", "evidence.language")
	}
	return out
}

// RequestHash is the hash an idempotency key is bound to: the record as
// the API received it, in a canonical order.
func RequestHash(r ConsentRecord) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	field(r.Phone)
	field(r.Category)
	field(string(r.State))
	field(string(r.Source))
	if r.OccurredAt.IsZero() {
		field("")
	} else {
		field(r.OccurredAt.UTC().Format(time.RFC3339Nano))
	}
	keys := make([]string, 0, len(r.Evidence))
	for k := range r.Evidence {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field(k)
		field(r.Evidence[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LedgerEvents returns up to limit events after the event id after, in
// commit order, for other systems to follow the ledger.
func (s *Service) LedgerEvents(ctx context.Context, after int64, limit int) ([]LedgerEvent, error) {
	return s.store.LedgerEvents(ctx, after, limit)
}

// EraseByAPI erases the contact with the number phone at the request of
// another system (actor is "api:<key name>"), as every erasure does: the
// contact and all it wrote go, a tombstone with reason "api" stays.
func (s *Service) EraseByAPI(ctx context.Context, phone, actor string) error {
	e164, err := ParsePhone(phone, s.cfg.DefaultRegion)
	if err != nil {
		return err
	}
	c, err := s.store.ContactByPhone(ctx, e164)
	if err != nil {
		return err
	}
	return s.erase(ctx, c, "api", EventErased, SourceAPI, actor)
}
