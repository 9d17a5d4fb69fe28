package consent

import (
	"context"
	"time"
)

// State is the consent of one contact for one category.
type State string

// Consent states. No row at all means no consent.
const (
	OptedIn  State = "opted_in"
	OptedOut State = "opted_out"
	Pending  State = "pending" // double opt-in awaiting confirmation
)

// ContactStatus is the lifecycle status of a contact.
type ContactStatus string

// Contact statuses.
const (
	PendingTerms  ContactStatus = "pending_terms"
	Active        ContactStatus = "active"
	Undeliverable ContactStatus = "undeliverable"
)

// EventType says what an event records.
type EventType string

// Event types.
const (
	EventOptIn         EventType = "opt_in"
	EventOptOut        EventType = "opt_out"
	EventConfirm       EventType = "confirm"
	EventTermsAccepted EventType = "terms_accepted"
	EventTermsRefused  EventType = "terms_refused"
	EventErased        EventType = "erased"
	EventUndeliverable EventType = "undeliverable"
	EventWindowOpened  EventType = "window_opened"
	EventNumberChanged EventType = "number_changed"
	// EventMerged: two contacts turned out to be one person (the same
	// WhatsApp number spelt two ways) and were merged into this one.
	EventMerged EventType = "merged"
)

// Source says how a consent change reached optin.
type Source string

// Sources of events.
const (
	SourceWebForm          Source = "web_form"
	SourceEmbed            Source = "embed"
	SourceLink             Source = "link"
	SourceQR               Source = "qr"
	SourceWhatsAppReply    Source = "whatsapp_reply"
	SourceKeyword          Source = "keyword"
	SourcePreferenceCenter Source = "preference_center"
	SourceAdmin            Source = "admin"
	SourceAPI              Source = "api"
	SourceImport           Source = "import"
	SourceProvider         Source = "provider"
)

// Mode is the opt-in mode.
type Mode string

// Opt-in modes.
const (
	Single Mode = "single"
	Double Mode = "double"
)

// Contact is one WhatsApp user.
type Contact struct {
	ID       int64
	Phone    string // E.164 as given
	WaID     string // as WhatsApp reports it; may differ from Phone
	Language string
	Status   ContactStatus
	// WindowOpenUntil is the end of the 24-hour customer service window;
	// zero when no inbound message was ever received.
	WindowOpenUntil time.Time
	CreatedAt       time.Time
	// EntryPoint is the code the person wrote in through, and EntryValid
	// whether its signature was genuine.
	EntryPoint string
	EntryValid bool
	// EntryVia is how a genuine code reached the person: SourceLink or
	// SourceQR; "" when the code was not genuine.
	EntryVia Source
	// TermsExpiresAt is when an unanswered terms prompt lapses.
	TermsExpiresAt time.Time
}

// Category is a kind of message the business sends.
type Category struct {
	ID          int64
	Slug        string
	Marketing   bool
	Name        string // in the requested language
	Description string
}

// Consent is the current state of one contact for one category.
type Consent struct {
	Category string // slug
	State    State
	Since    time.Time
	Source   Source
}

// Evidence is how and where a consent change happened. Every field that is
// known is recorded with the event.
type Evidence struct {
	Source      Source
	IP          string // truncated to /24 (IPv4) or /48 (IPv6) before storage
	UserAgent   string
	PageURL     string
	EmbedOrigin string
	EntryPoint  string
	FormVersion string
	MessageID   string // WhatsApp message id, for replies
	MessageText string
	Actor       string // admin e-mail or API key name
	// Detail holds further evidence, such as the id of the message that
	// started a conversation or whether an entry point's code was genuine.
	Detail map[string]string
}

// Wording is a version of text shown to people as part of consent, stored
// once and referenced from events by its SHA-256.
type Wording struct {
	Hash    string // hex SHA-256 of Text
	Kind    string // "consent" or "terms"
	Lang    string
	Version int
	Text    string
}

// Event is one append-only fact with its evidence.
type Event struct {
	ID          int64
	ContactID   int64
	Type        EventType
	Category    string // slug; empty for contact-level events
	State       State  // the consent state the event led to, when any
	OccurredAt  time.Time
	RecordedAt  time.Time
	WordingHash string
	Lang        string
	Evidence    Evidence
}

// OutboxMessage is a message waiting in, or having left, the outbox.
type OutboxMessage struct {
	ID        int64
	ContactID int64
	Purpose   string // "welcome", "reply", …
	Message   Message
	Status    DeliveryStatus
	Attempts  int
	CreatedAt time.Time
	// ProviderID is the provider's message id once it accepted the message.
	ProviderID string
}

// Alert is something an admin must see: a template or account problem
// reported by the provider, or a dead letter.
type Alert struct {
	Kind  string // "template", "account", "dead_letter"
	Code  int
	Title string
	At    time.Time
}

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// OptInOutcome reports what an opt-in recorded.
type OptInOutcome struct {
	Contact       Contact
	Changed       []string // slugs whose state changed
	WelcomeQueued bool
}

// Store persists contacts, consents, events and the outbox. Each method is
// one transaction.
type Store interface {
	Categories(ctx context.Context, lang string) ([]Category, error)
	ContactByPhone(ctx context.Context, phone string) (Contact, error)
	Consents(ctx context.Context, contactID int64) ([]Consent, error)
	// ConsentFor returns the contact's status and its consent for category
	// ("" when none), or ErrNotFound for an unknown number.
	ConsentFor(ctx context.Context, phone, category string) (ContactStatus, State, error)

	OutboxStore
	// ApplyStatus records a delivery status reported by the provider. It never
	// moves a message backwards. It returns the contact the message went to,
	// or ErrNotFound for a message optin does not know.
	ApplyStatus(ctx context.Context, s StatusUpdate, now time.Time) (contactID int64, err error)

	KeyStore
	InboxStore
	EntryStore
	OpsStore
	MOStore
	PreferenceStore
	ReceiptStore
	SettingsStore
	RecordStore
	CSVStore
	AdminStore
	AdminUserStore
	ContactAdminStore
	CatalogStore
	StatsStore
	LedgerStore
}
