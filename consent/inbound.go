package consent

import (
	"slices"
	"strings"
	"time"
)

// Inbound is everything one webhook call reported, in the provider-neutral
// model. Both the Cloud API shape and the on-premise flat shape parse into it.
type Inbound struct {
	Messages    []InboundMessage
	Statuses    []StatusUpdate
	Preferences []PreferenceUpdate
	// Invalid are the items the parser kept aside (a sender that is not a
	// wa_id, a text longer than WhatsApp allows, a NUL): they make no
	// contact and get no reply; the stored webhook call keeps them for
	// inspection, marked with Note.
	Invalid []InvalidInbound
	// Account has phone_number_quality_update and account_update changes (quality.go).
	Account []AccountUpdate
	// Errors are errors the provider reported outside any message or status:
	// a Cloud API value's "errors", an on-premise {"errors":[…]} webhook.
	Errors []ProviderErrorDetail
	// Other are the changes of webhook fields besides messages and
	// user_preferences (account_update, message_template_status_update,
	// phone_number_quality_update…), with their raw value, for the code that
	// acts on them (OtherFieldsHandled).
	Other []OtherChange
}

// InvalidInbound is one webhook item kept aside: which one of the call
// ("message 2") and why, never the offending value (it may be a number).
type InvalidInbound struct {
	Item, Reason string
}

// MaxInboundText is the longest text WhatsApp delivers, in characters.
const MaxInboundText = 4096

// Note says why the call's invalid items were kept aside; "" when none were.
func (in Inbound) Note() string {
	if len(in.Invalid) == 0 {
		return ""
	}
	note := "kept aside:"
	for i, v := range in.Invalid {
		if i == 5 {
			note += " …"
			break
		}
		note += " " + v.Item + " (" + v.Reason + ")"
	}
	return note
}

// OtherChange is one change of a webhook field optin has no model for: the
// Cloud API's entry[].changes[] field name and its value as received (JSON).
type OtherChange struct {
	Field string
	Value []byte
}

// OtherFieldsHandled lists the webhook fields of Inbound.Other that Handle
// acts on. A call that brings nothing but changes of other fields is kept in
// the inbox, marked ignored with the field's name, for admins to see
// (IgnoredReason); a field added here is processed and emptied like any
// other call.
var OtherFieldsHandled = map[string]bool{}

// IgnoredPrefix starts the inbox error of a webhook call that was
// acknowledged and kept but carries nothing optin acts on; the rest is the
// reason.
const IgnoredPrefix = "ignored: "

// IgnoredReason says why a parsed call carries nothing optin acts on: it has
// changes of other webhook fields and nothing else. "" when it has something
// to act on, or nothing at all (an empty batch).
func (in Inbound) IgnoredReason() string {
	if len(in.Messages)+len(in.Statuses)+len(in.Preferences)+len(in.Errors)+len(in.Account) > 0 {
		return ""
	}
	var fields []string
	for _, o := range in.Other {
		if !OtherFieldsHandled[o.Field] && !slices.Contains(fields, o.Field) {
			fields = append(fields, o.Field)
		}
	}
	if len(fields) == 0 {
		return ""
	}
	return "webhook field " + strings.Join(fields, ", ") + " is not acted on"
}

// InboundType is the type of an inbound message.
type InboundType string

// Inbound message types optin understands; every other type is kept as
// reported and forwarded.
const (
	InText        InboundType = "text"
	InButtonReply InboundType = "button_reply" // interactive reply button, or a row of a list
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
	// StatusUnknown is a message whose send was cut off (a crash, or a
	// lease that ran out): the provider may or may not have accepted it. It
	// is never sent again by itself; a status report naming its recipient
	// resolves it, or an admin chooses to resend it.
	StatusUnknown DeliveryStatus = "unknown"
)

// Rank orders statuses so that late or repeated reports never move a message
// backwards. Failed outranks everything: WhatsApp reports it last.
func (s DeliveryStatus) Rank() int {
	switch s {
	case StatusQueued:
		return 0
	case StatusSending, StatusUnknown:
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
