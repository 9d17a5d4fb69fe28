package consent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Push events are what optin POSTs to OPTIN_FORWARD_URL (the business's CRM
// or chatbot), signed X-Optin-Signature: sha256=<hex HMAC-SHA256 of the
// body>, retried until accepted. Every body is JSON with snake_case fields
// and a "type":
//
//   - "message" and "status": what WhatsApp reported that optin did not
//     consume (ForwardBody, with PushMessage and PushStatus);
//   - "consent.changed": one per category whose state changed, written in
//     the same transaction as its event, with the event's id and hash so
//     that the receiver can match it with the ledger (ConsentChanged);
//   - "contact.erased": once per erasure, with the number, so that the
//     receiver can erase its own copy; optin empties the body once it is
//     delivered (or given up), and keeps no number after that (ContactErased).
//
// The OpenAPI document's "webhooks" section describes them (web/openapi.go).

// Push event types.
const (
	PushTypeMessage        = "message"
	PushTypeStatus         = "status"
	PushTypeConsentChanged = "consent.changed"
	PushTypeContactErased  = "contact.erased"
)

// PushMessage is an inbound message as the business's system receives it.
type PushMessage struct {
	ID        string    `json:"id"`
	From      string    `json:"from"` // wa_id
	Name      string    `json:"name,omitempty"`
	Timestamp time.Time `json:"timestamp"`
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	ButtonID  string    `json:"button_id,omitempty"`
	ContextID string    `json:"context_id,omitempty"`
	// Media is set for image, audio, video, document and sticker messages:
	// fetch the file from the provider with its id.
	Media      *Media `json:"media,omitempty"`
	SystemType string `json:"system_type,omitempty"`
	NewWaID    string `json:"new_wa_id,omitempty"`
}

// Media is the file of an inbound media message.
type Media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// PushStatus is a delivery status of a message optin did not send.
type PushStatus struct {
	MessageID   string      `json:"message_id"`
	RecipientID string      `json:"recipient_id"`
	Status      string      `json:"status"`
	Timestamp   time.Time   `json:"timestamp"`
	Errors      []PushError `json:"errors,omitempty"`
}

// PushError is one error of a failed status.
type PushError struct {
	Code  int    `json:"code"`
	Title string `json:"title"`
}

// pushMessage is m on the wire.
func pushMessage(m InboundMessage) *PushMessage {
	return &PushMessage{ID: m.ID, From: m.From, Name: m.Name, Timestamp: m.Timestamp.UTC(), Type: string(m.Type),
		Text: m.Text, ButtonID: m.ButtonID, ContextID: m.ContextID, Media: m.Media, SystemType: m.SystemType, NewWaID: m.NewWaID}
}

// pushStatus is st on the wire.
func pushStatus(st StatusUpdate) *PushStatus {
	p := &PushStatus{MessageID: st.MessageID, RecipientID: st.RecipientID, Status: string(st.Status), Timestamp: st.Timestamp.UTC()}
	for _, e := range st.Errors {
		p.Errors = append(p.Errors, PushError{Code: e.Code, Title: e.Title})
	}
	return p
}

// ConsentChanged is the push of one category's change of state.
type ConsentChanged struct {
	Type      string `json:"type"` // consent.changed
	EventID   int64  `json:"event_id"`
	EventHash string `json:"event_hash"`
	EventType string `json:"event_type"` // opt_in, opt_out, confirm
	ContactID int64  `json:"contact_id"`
	Phone     string `json:"phone"` // E.164
	WaID      string `json:"wa_id"`
	Category  string `json:"category"`
	// OldState is "" when the contact had no consent for the category.
	OldState   string    `json:"old_state"`
	NewState   string    `json:"new_state"`
	Source     string    `json:"source"`
	OccurredAt time.Time `json:"occurred_at"`
}

// ConsentChangedBody is the push for transition t of contact c, recorded
// as event id with hash.
func ConsentChangedBody(c Contact, t Transition, source Source, eventID int64, hash string, at time.Time) ([]byte, error) {
	return json.Marshal(ConsentChanged{Type: PushTypeConsentChanged, EventID: eventID, EventHash: hash, EventType: string(t.Type),
		ContactID: c.ID, Phone: c.Phone, WaID: c.WaID, Category: t.Category, OldState: string(t.From), NewState: string(t.To),
		Source: string(source), OccurredAt: at.UTC()})
}

// ContactErased is the push of an erasure: the only time the number leaves
// optin after it, so that the receiver can erase its own copy.
type ContactErased struct {
	Type      string `json:"type"` // contact.erased
	ContactID int64  `json:"contact_id"`
	Phone     string `json:"phone"`
	WaID      string `json:"wa_id"`
	// EventID and EventHash name the erased event in the ledger; 0 and ""
	// for an erasure that records none (a declined or lapsed terms prompt).
	EventID   int64     `json:"event_id,omitempty"`
	EventHash string    `json:"event_hash,omitempty"`
	Reason    string    `json:"reason"` // person, admin, api, terms_refused, terms_expired
	Source    string    `json:"source,omitempty"`
	ErasedAt  time.Time `json:"erased_at"`
}

// ContactErasedBody is the push for the erasure of c.
func ContactErasedBody(c Contact, t Tombstone, eventID int64, hash string) ([]byte, error) {
	return json.Marshal(ContactErased{Type: PushTypeContactErased, ContactID: c.ID, Phone: c.Phone, WaID: c.WaID,
		EventID: eventID, EventHash: hash, Reason: t.Reason, Source: string(t.Source), ErasedAt: t.At.UTC()})
}

// statusOfErased reports whether st is a late status of a message to a
// number that was erased (a tombstone, and no contact since): its messages
// went with the contact, and the status must neither be forwarded nor kept,
// or the number would be back in the database after its erasure push.
func (s *Service) statusOfErased(ctx context.Context, st StatusUpdate) (bool, error) {
	if st.RecipientID == "" {
		return false, nil
	}
	phone := "+" + strings.TrimPrefix(st.RecipientID, "+")
	if n, err := ParsePhone(phone, ""); err == nil {
		phone = n
	}
	if _, err := s.store.ContactByPhone(ctx, phone); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return s.store.NumberErased(ctx, s.PhoneHash(phone))
}
