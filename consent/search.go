package consent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// ContactSort is an order of the admin console's contact list.
type ContactSort string

// Contact list orders. Each walks an index from a cursor (keyset
// pagination), so a deep page costs what the first one does.
const (
	SortCreated ContactSort = "created" // newest first
	SortChanged ContactSort = "changed" // most recently changed first
	SortPhone   ContactSort = "phone"   // by number, ascending
)

// DateField says which date a contact list's date range applies to.
type DateField string

// Date fields of the contact list's range.
const (
	DateCreated DateField = "created"
	DateChanged DateField = "changed"
)

// NoConsent, as a ContactQuery's State, selects contacts with no consent
// row (for Category, or for any category when Category is empty: contacts
// with no consent at all).
const NoConsent State = "none"

// MinSearchDigits is the shortest search that matches digits anywhere in a
// number; a shorter one matches the number's beginning (after the "+").
const MinSearchDigits = 3

// Contact list page sizes.
const (
	DefaultContactLimit = 50
	MaxContactLimit     = 200
)

// ContactQuery selects a page of contacts. Zero values filter nothing.
type ContactQuery struct {
	// Search is what an admin typed: a number in any format or some of its
	// digits. Everything but digits is ignored.
	Search string
	// WholeNumber makes Search a whole number in any spelling, matched
	// exactly (phone or wa_id), never by some of its digits: for viewers,
	// who see numbers masked and must not rebuild one digit by digit from
	// which searches find something. Sorting by number is refused with it,
	// as the page links of that order carry numbers.
	WholeNumber bool
	Category    string        // slug; narrows State and Source to that category
	State       State         // opted_in, opted_out, pending, or NoConsent
	Status      ContactStatus // pending_terms, active, undeliverable
	Source      Source        // the source of a current consent
	EntryPoint  string        // the code the person wrote in through
	DateField   DateField     // what From and To apply to; created when empty
	From, To    time.Time     // From inclusive, To exclusive
	Sort        ContactSort   // SortCreated when empty
	// After and Before are cursors from a previous page's Next and Prev;
	// at most one is set.
	After, Before string
	Limit         int // DefaultContactLimit when 0
}

// ContactRow is one contact of the list, with its consents.
type ContactRow struct {
	Contact   Contact
	UpdatedAt time.Time
	Consents  []Consent
}

// ContactPage is one page of the contact list.
type ContactPage struct {
	Rows []ContactRow
	// Next and Prev are cursors for the pages after and before, "" when
	// there is none.
	Next, Prev string
	// Digits is the search as the store ran it, and Prefix reports that it
	// was shorter than MinSearchDigits and matched numbers starting with it.
	Digits string
	Prefix bool
}

// ContactCursor is the position a cursor encodes: the sort key and id of a
// row, in a sort order. Opaque to callers.
type ContactCursor struct {
	Sort ContactSort `json:"s"`
	Key  string      `json:"k"`
	ID   int64       `json:"i"`
}

// Encode returns c as an opaque URL-safe string.
func (c ContactCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeContactCursor reads a cursor made by Encode for the sort order
// sort. A cursor that is malformed or from another order is a
// *ValidationError.
func DecodeContactCursor(s string, sort ContactSort) (ContactCursor, error) {
	var c ContactCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || c.Sort != sort || c.ID <= 0 {
		return ContactCursor{}, &ValidationError{Fields: map[string]string{"cursor": "cursor.invalid"}}
	}
	return c, nil
}

// ContactSearch is the store's side of the contact list, already checked:
// Digits holds digits only, cursors are decoded, Limit is in range.
type ContactSearch struct {
	ContactQuery
	Digits        string
	Exact         string // E.164: the whole-number search of WholeNumber
	After, Before *ContactCursor
}

// MessageIn is a message a contact wrote, as the admin console shows it.
type MessageIn struct {
	ID         int64
	ProviderID string
	Type       string
	Text       string
	ButtonID   string
	SentAt     time.Time
	ReceivedAt time.Time
}

// OutboxEntry is a message optin sent or means to send a contact, with
// what became of it, as the admin console shows it.
type OutboxEntry struct {
	OutboxMessage
	ErrorCode  int
	ErrorTitle string
	UpdatedAt  time.Time
	SentAt     time.Time
}

// ContactAdminStore is what the admin console's contact pages need from
// the store.
type ContactAdminStore interface {
	// SearchContacts returns one page of contacts.
	SearchContacts(ctx context.Context, q ContactSearch) (ContactPage, error)
	// ContactInbound returns what a contact wrote, oldest first.
	ContactInbound(ctx context.Context, contactID int64) ([]MessageIn, error)
	// ContactOutbox returns the messages to a contact, oldest first.
	ContactOutbox(ctx context.Context, contactID int64) ([]OutboxEntry, error)
	// ResendUnknown queues again message id of contact, which is in doubt
	// (StatusUnknown); ErrNotFound when it is not.
	ResendUnknown(ctx context.Context, contactID, id int64, now time.Time) error
	// UnknownMessages lists up to limit messages in doubt, oldest first.
	UnknownMessages(ctx context.Context, limit int) ([]MessageInDoubt, error)
}

// MessageInDoubt is a message whose send a crash cut off (StatusUnknown),
// for the admins to look at.
type MessageInDoubt struct {
	ID, ContactID int64
	CreatedAt     time.Time
}

var (
	knownStates   = []State{OptedIn, OptedOut, Pending, NoConsent}
	knownStatuses = []ContactStatus{PendingTerms, Active, Undeliverable}
	knownSources  = []Source{SourceWebForm, SourceEmbed, SourceLink, SourceQR, SourceWhatsAppReply, SourceKeyword,
		SourcePreferenceCenter, SourceAdmin, SourceAPI, SourceImport, SourceProvider}
)

// ContactStates, ContactStatuses and Sources list the values the contact
// list filters accept, for the filter form.
func ContactStates() []State           { return append([]State(nil), knownStates...) }
func ContactStatuses() []ContactStatus { return append([]ContactStatus(nil), knownStatuses...) }
func Sources() []Source                { return append([]Source(nil), knownSources...) }

func isOneOf[T comparable](v T, list []T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// SearchContacts checks q and returns one page of the contact list. Bad
// filters, a search with no digits and a malformed cursor are a
// *ValidationError naming each field.
func (s *Service) SearchContacts(ctx context.Context, q ContactQuery) (ContactPage, error) {
	verr := &ValidationError{}
	cs := ContactSearch{ContactQuery: q}
	cs.Search = strings.TrimSpace(q.Search)
	if cs.Search != "" {
		var b strings.Builder
		for _, r := range cs.Search {
			switch {
			case r >= '0' && r <= '9':
				b.WriteRune(r)
			case strings.ContainsRune("+-()./ \t", r):
			default:
				verr.Add("q", "search.not_digits")
			}
		}
		cs.Digits = b.String()
		if cs.Digits == "" {
			verr.Add("q", "search.not_digits")
		}
		if q.WholeNumber {
			cs.Digits = ""
			if e164, err := ParsePhone(cs.Search, s.cfg.DefaultRegion); err != nil {
				verr.Add("q", "search.whole_number")
			} else {
				cs.Exact = e164
			}
		}
	}
	if q.WholeNumber && q.Sort == SortPhone {
		verr.Add("sort", "sort.unknown")
	}
	if q.Category != "" {
		cats, err := s.Categories(ctx, "en")
		if err != nil {
			return ContactPage{}, err
		}
		known := false
		for _, c := range cats {
			known = known || c.Slug == q.Category
		}
		if !known {
			verr.Add("category", "category.unknown")
		}
	}
	if q.State != "" && !isOneOf(q.State, knownStates) {
		verr.Add("state", "state.unknown")
	}
	if q.State == NoConsent && q.Source != "" {
		verr.Add("source", "source.with_no_consent")
	}
	if q.Status != "" && !isOneOf(q.Status, knownStatuses) {
		verr.Add("status", "status.unknown")
	}
	if q.Source != "" && !isOneOf(q.Source, knownSources) {
		verr.Add("source", "source.unknown")
	}
	switch q.DateField {
	case "":
		cs.DateField = DateCreated
	case DateCreated, DateChanged:
	default:
		verr.Add("date", "date.field_unknown")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		verr.Add("to", "date.range_empty")
	}
	switch q.Sort {
	case "":
		cs.Sort = SortCreated
	case SortCreated, SortChanged, SortPhone:
	default:
		verr.Add("sort", "sort.unknown")
	}
	switch {
	case q.Limit == 0:
		cs.Limit = DefaultContactLimit
	case q.Limit < 0 || q.Limit > MaxContactLimit:
		verr.Add("limit", "limit.out_of_range")
	}
	if q.After != "" && q.Before != "" {
		verr.Add("cursor", "cursor.both")
	}
	if err := verr.OrNil(); err != nil {
		return ContactPage{}, err
	}
	for _, c := range []struct {
		raw string
		to  **ContactCursor
	}{{q.After, &cs.After}, {q.Before, &cs.Before}} {
		if c.raw == "" {
			continue
		}
		cur, err := DecodeContactCursor(c.raw, cs.Sort)
		if err != nil {
			return ContactPage{}, err
		}
		*c.to = &cur
	}
	return s.store.SearchContacts(ctx, cs)
}
