package consent

import "time"

// Inbound is everything one webhook call reported, in the provider-neutral
// model. Both the Cloud API shape and the on-premise flat shape parse into it.
type Inbound struct {
	Messages    []InboundMessage
	Statuses    []StatusUpdate
	Preferences []PreferenceUpdate
	// Account has phone_number_quality_update and account_update changes (quality.go).
	Account []AccountUpdate
}

// InboundType is the type of an inbound message.
type InboundType string

// Inbound message types optin understands; every other type is kept as
// reported and forwarded.
const (
	InText        InboundType = "text"
	InButtonReply InboundType = "button_reply" // interactive reply button
	InButton      InboundType = "button"       // template quick-reply button
	InSystem      InboundType = "system"
)

// InboundMessage is one message a person sent to the business.
type InboundMessage struct {
	ID        string // provider message id
	From      string // sender's wa_id
	Name      string // profile name, when reported
	Timestamp time.Time
	Type      InboundType
	Text      string // the text, or the button's title
	ButtonID  string // interactive button id or template button payload
	// NewWaID is set for system messages of type user_changed_number.
	NewWaID    string
	SystemType string
	ContextID  string // id of the message this one replies to, when any
	// Media is the file of an image, audio, video, document or sticker
	// message, forwarded with its id (push.go).
	Media *Media
}

// DeliveryStatus is a message status reported by the provider. The order of
// the constants is the order a message goes through; a status never moves
// back to an earlier one.
type DeliveryStatus string

// Delivery statuses.
const (
	StatusQueued    DeliveryStatus = "queued"
	StatusSending   DeliveryStatus = "sending"
	StatusSent      DeliveryStatus = "sent"
	StatusDelivered DeliveryStatus = "delivered"
	StatusRead      DeliveryStatus = "read"
	StatusFailed    DeliveryStatus = "failed"
	StatusDead      DeliveryStatus = "dead"
)

// Rank orders statuses so that late or repeated reports never move a message
// backwards. Failed outranks everything: WhatsApp reports it last.
func (s DeliveryStatus) Rank() int {
	switch s {
	case StatusQueued:
		return 0
	case StatusSending:
		return 1
	case StatusSent:
		return 2
	case StatusDelivered:
		return 3
	case StatusRead:
		return 4
	case StatusFailed, StatusDead:
		return 5
	}
	return -1
}

// StatusUpdate reports what happened to a message optin sent.
type StatusUpdate struct {
	MessageID   string // provider message id
	RecipientID string // wa_id
	Status      DeliveryStatus
	Timestamp   time.Time
	Errors      []ProviderErrorDetail
}

// ProviderErrorDetail is one error attached to a failed status.
type ProviderErrorDetail struct {
	Code  int
	Title string
}

// PreferenceUpdate is a user_preferences webhook: the person stopped or
// resumed marketing messages inside WhatsApp.
type PreferenceUpdate struct {
	WaID      string
	Category  string // "marketing_messages"
	Value     string // "stop" or "resume"
	Timestamp time.Time
}
