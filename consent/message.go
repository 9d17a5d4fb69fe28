package consent

import (
	"context"
	"fmt"
	"time"
)

// MessageKind is the kind of an outgoing message. Every provider adapter
// understands all of them.
type MessageKind string

// Outgoing message kinds.
const (
	KindTemplate    MessageKind = "template"
	KindText        MessageKind = "text"
	KindInteractive MessageKind = "interactive"
	KindContacts    MessageKind = "contacts"
	KindRead        MessageKind = "read" // mark an inbound message as read
)

// Message is one outgoing message in the provider-neutral model. To is the
// recipient's wa_id or E.164 number without "+" ("4915112345678").
type Message struct {
	Kind        MessageKind  `json:"kind"`
	To          string       `json:"to,omitempty"`
	Template    *Template    `json:"template,omitempty"`
	Text        string       `json:"text,omitempty"`
	PreviewURL  bool         `json:"preview_url,omitempty"`
	Interactive *Interactive `json:"interactive,omitempty"`
	Contacts    []Card       `json:"contacts,omitempty"`
	// ReadID is the provider id of the inbound message to mark as read (KindRead).
	ReadID string `json:"read_id,omitempty"`
}

// Template is an approved WhatsApp template message.
type Template struct {
	Name      string `json:"name"`
	Language  string `json:"language"`
	Namespace string `json:"namespace,omitempty"` // v1 (on-premise) only
	// BodyParams fill {{1}}, {{2}}… of the template body, in order.
	BodyParams []string `json:"body_params,omitempty"`
	// Buttons are the template's quick-reply or URL buttons that need a value:
	// a quick-reply payload or the dynamic suffix of a URL button.
	Buttons []TemplateButton `json:"buttons,omitempty"`
	// Preview is how the sandbox shows the template (the approved body with
	// its parameters filled in); providers ignore it.
	Preview string `json:"preview,omitempty"`
}

// TemplateButton gives a value to the button at Index of a template.
type TemplateButton struct {
	Index   int    `json:"index"`
	SubType string `json:"sub_type"` // "quick_reply" or "url"
	Payload string `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"` // url suffix for sub_type url
	// Title is the button's label as approved, for the sandbox only.
	Title string `json:"title,omitempty"`
}

// Interactive is an interactive message: up to three reply buttons, or, when
// List is set, a list whose rows the person picks one of (no Buttons then).
// The person's choice comes back as an InButtonReply with the button's or
// the row's id.
type Interactive struct {
	Header  string   `json:"header,omitempty"`
	Body    string   `json:"body"`
	Footer  string   `json:"footer,omitempty"`
	Buttons []Button `json:"buttons"`
	List    *List    `json:"list,omitempty"`
}

// List is the menu of an interactive list message: the label of the button
// that opens it, and its sections of rows.
type List struct {
	Button   string        `json:"button"`
	Sections []ListSection `json:"sections"`
}

// ListSection is a titled group of rows; the title is required when the
// list has more than one section.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// ListRow is one choice of a list: the id comes back in the person's reply.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// Button is one reply button: the id comes back in the person's reply.
type Button struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Card is a contact card (vCard-like) sent with KindContacts.
type Card struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"` // E.164
	Email string `json:"email,omitempty"`
	URL   string `json:"url,omitempty"`
}

// SendResult is what a provider answers when it accepts a message.
type SendResult struct {
	MessageID string // provider message id ("wamid.…")
	WaID      string // the recipient's WhatsApp id, which can differ from the number
}

// Sender sends messages through a WhatsApp provider. Implementations return
// a *ProviderError for every failure the provider reports, so the Dispatcher
// can decide by its Class whether to retry.
type Sender interface {
	Send(ctx context.Context, m Message) (SendResult, error)
}

// ErrorClass groups provider errors by what optin does about them (SPEC §5).
type ErrorClass string

// Provider error classes.
const (
	ErrUndeliverable    ErrorClass = "undeliverable"     // 1013, 131026
	ErrWindowClosed     ErrorClass = "window_closed"     // 470, 131047
	ErrMarketingStopped ErrorClass = "marketing_stopped" // 131050
	ErrThrottled        ErrorClass = "throttled"         // 429, 503, 130429, 131056, 80007, 4, 131048
	ErrTransient        ErrorClass = "transient"         // 408, 5xx, 131016, network errors
	ErrTemplate         ErrorClass = "template"          // 2001, 132000, 132001, 500 structure unavailable
	ErrAccount          ErrorClass = "account"           // 402, 131042, 190, 401
	ErrRejected         ErrorClass = "rejected"          // anything else: a permanent failure of this message
)

// ProviderError is a failure reported by (or on the way to) a provider.
type ProviderError struct {
	Class      ErrorClass
	HTTPStatus int           // 0 for network errors
	Code       int           // provider error code, 0 when none
	Title      string        // provider's short title, never containing message text
	RetryAfter time.Duration // from a Retry-After header, 0 when absent
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider error: class=%s http=%d code=%d %s", e.Class, e.HTTPStatus, e.Code, e.Title)
}

// Retryable reports whether sending the same message again later may succeed.
func (e *ProviderError) Retryable() bool {
	return e.Class == ErrThrottled || e.Class == ErrTransient
}

// ClassifyCode maps a provider error code (WhatsApp code or HTTP status) to
// its class. Adapters call it with the code from the error body, and with the
// HTTP status when the body carries no code.
func ClassifyCode(code int) ErrorClass {
	switch code {
	case 1013, 131026:
		return ErrUndeliverable
	case 470, 131047:
		return ErrWindowClosed
	case 131050:
		return ErrMarketingStopped
	case 429, 503, 130429, 131056, 80007, 4, 131048: // 4: app request limit; 131048: spam rate limit
		return ErrThrottled
	case 2001, 132000, 132001:
		return ErrTemplate
	case 402, 131042, 190, 401:
		return ErrAccount
	case 408, 131016: // 131016: service temporarily unavailable
		return ErrTransient
	}
	if code >= 500 && code < 600 {
		return ErrTransient
	}
	return ErrRejected
}
