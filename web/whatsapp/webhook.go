package whatsapp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optin/optin/consent"
)

// ErrUnknownWebhook is returned by ParseWebhook for valid JSON that is
// neither a Cloud API nor an on-premise webhook.
var ErrUnknownWebhook = errors.New("whatsapp: webhook is neither Cloud API nor on-premise shape")

// cloudObject is the only "object" a WhatsApp Cloud API webhook carries;
// Meta sends other objects (page, instagram) to the same kind of endpoint.
const cloudObject = "whatsapp_business_account"

// webhookBody holds both shapes at once: the Cloud envelope around
// entry[].changes[].value, and the flat on-premise payload, whose keys are
// those of a Cloud value. Slices stay nil when their key is absent, which is
// how the shape is recognised without decoding twice.
type webhookBody struct {
	Object *string      `json:"object"`
	Entry  []cloudEntry `json:"entry"`
	payload
}

type cloudEntry struct {
	ID      string        `json:"id"`
	Time    unixTime      `json:"time"`
	Changes []cloudChange `json:"changes"`
}

type cloudChange struct {
	Field string `json:"field"`
	// Value stays raw until Field says it is ours: other fields
	// (template status, account updates) have their own schemas, and a
	// future one must not make a valid webhook fail to parse.
	Value json.RawMessage `json:"value"`
}

// payload is a Cloud change value, or an on-premise webhook.
type payload struct {
	Contacts        []inContact    `json:"contacts"`
	Messages        []inMessage    `json:"messages"`
	Statuses        []inStatus     `json:"statuses"`
	UserPreferences []inPreference `json:"user_preferences"`
	// Errors are failures reported outside any message or status: a Cloud
	// value's "errors" (the reseller and Meta send them, for example, when
	// a webhook could not be delivered in full), or an on-premise
	// {"errors":[…]} webhook.
	Errors []inError `json:"errors"`
}

type inError struct {
	Code    flexInt `json:"code"`
	Title   string  `json:"title"`
	Message string  `json:"message"`
}

type inContact struct {
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	WaID string `json:"wa_id"`
}

type inMessage struct {
	ID        string   `json:"id"`
	From      string   `json:"from"`
	Timestamp unixTime `json:"timestamp"`
	Type      string   `json:"type"`
	Context   *struct {
		ID string `json:"id"`
	} `json:"context"`
	Text *struct {
		Body string `json:"body"`
	} `json:"text"`
	Button *struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	} `json:"button"`
	Interactive *struct {
		Type        string `json:"type"`
		ButtonReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			ID    string `json:"id"`
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
	// Media messages carry their file under the key of their type.
	Image    *inMedia `json:"image"`
	Audio    *inMedia `json:"audio"`
	Video    *inMedia `json:"video"`
	Document *inMedia `json:"document"`
	Sticker  *inMedia `json:"sticker"`
	System   *struct {
		Body string `json:"body"`
		Type string `json:"type"`
		// The new number: wa_id in the Cloud API, new_wa_id on-premise.
		WaID    string `json:"wa_id"`
		NewWaID string `json:"new_wa_id"`
		// On-premise reports marketing stop/resume as a system message.
		Marketing string `json:"marketing"`
	} `json:"system"`
}

type inStatus struct {
	ID          string   `json:"id"`
	RecipientID string   `json:"recipient_id"`
	Status      string   `json:"status"`
	Timestamp   unixTime `json:"timestamp"`
	Errors      []struct {
		Code    flexInt `json:"code"`
		Title   string  `json:"title"`
		Message string  `json:"message"`
	} `json:"errors"`
}

type inPreference struct {
	WaID      string   `json:"wa_id"`
	Detail    string   `json:"detail"`
	Category  string   `json:"category"`
	Value     string   `json:"value"`
	Timestamp unixTime `json:"timestamp"`
}

// System message types optin acts on.
const (
	systemChangedNumber = "user_changed_number"
	// Before v2.35 the on-premise API named the same event after the customer.
	systemChangedNumberOld = "customer_changed_number"
	// On-premise form of the Cloud API's user_preferences webhook.
	systemPreferenceChanged = "user_preference_changed"
)

// marketingCategory is the only user_preferences category WhatsApp reports.
const marketingCategory = "marketing_messages"

// ParseWebhook parses a webhook body from any provider into the
// provider-neutral model. It accepts the Cloud API shape
// ({"object":"whatsapp_business_account","entry":[…]}) and the on-premise
// flat shape ({"contacts":[…],"messages":[…]} / {"statuses":[…]}), because
// resellers forward either. Malformed JSON and JSON of neither shape are
// errors; a valid webhook with nothing for optin (a template status change,
// an empty entry) gives an empty Inbound and no error, so the handler can
// acknowledge it and the provider stops resending. Changes of other Cloud
// fields (account_update, template status and quality updates…) come back in
// Inbound.Other with their raw value, and errors outside any status in
// Inbound.Errors. The webhook handler stores every verified JSON body
// whatever its shape; this parser's errors only say, in the inbox, why a body
// was kept and not acted on.
func ParseWebhook(body []byte) (consent.Inbound, error) {
	var in consent.Inbound
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		// Checked first: json.Unmarshal accepts null, and a JSON array
		// would be reported as a type error far from the point.
		if len(body) > 0 && json.Valid(body) {
			return in, ErrUnknownWebhook
		}
		return in, errors.New("whatsapp: webhook is not a JSON object")
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return in, errors.New("whatsapp: webhook is not valid UTF-8")
	}
	var w webhookBody
	if err := json.Unmarshal(body, &w); err != nil {
		return in, fmt.Errorf("whatsapp: parse webhook: %w", err)
	}
	switch {
	case w.Object != nil || w.Entry != nil:
		if w.Object != nil && *w.Object != cloudObject {
			return in, fmt.Errorf("whatsapp: webhook object %q: %w", *w.Object, ErrUnknownWebhook)
		}
		for _, e := range w.Entry {
			for _, ch := range e.Changes {
				if accountField(ch.Field) && len(ch.Value) > 0 { // quality.go
					u, err := parseAccountChange(ch.Field, ch.Value, e.Time)
					if err != nil {
						return consent.Inbound{}, err
					}
					in.Account = append(in.Account, u)
					in.Other = append(in.Other, consent.OtherChange{Field: ch.Field, Value: bytes.Clone(ch.Value)})
					continue
				}
				if !ourField(ch.Field) {
					// account_update, message_template_status_update,
					// phone_number_quality_update…: kept raw for the code
					// that acts on them, never a reason to refuse the call.
					in.Other = append(in.Other, consent.OtherChange{Field: ch.Field, Value: bytes.Clone(ch.Value)})
					continue
				}
				if len(ch.Value) == 0 {
					continue
				}
				var p payload
				if err := json.Unmarshal(ch.Value, &p); err != nil {
					return consent.Inbound{}, fmt.Errorf("whatsapp: parse webhook %s value: %w", ch.Field, err)
				}
				p.appendTo(&in)
			}
		}
	case w.Contacts != nil || w.Messages != nil || w.Statuses != nil || w.UserPreferences != nil || w.payload.Errors != nil:
		w.payload.appendTo(&in)
	default:
		return in, ErrUnknownWebhook
	}
	return in, nil
}

// ourField reports whether a Cloud change field carries messages, statuses
// or preferences. An empty field is accepted because some forwarders drop it.
func ourField(f string) bool {
	return f == "messages" || f == "user_preferences" || f == ""
}

func (p *payload) appendTo(in *consent.Inbound) {
	for i := range p.Messages {
		msg := &p.Messages[i]
		if msg.System != nil && msg.System.Type == systemPreferenceChanged {
			in.Preferences = append(in.Preferences, consent.PreferenceUpdate{
				WaID:      msg.From,
				Category:  marketingCategory,
				Value:     msg.System.Marketing,
				Timestamp: msg.Timestamp.Time,
			})
			continue
		}
		m := p.message(msg)
		if why := invalidMessage(m); why != "" {
			in.Invalid = append(in.Invalid, consent.InvalidInbound{Item: "message " + strconv.Itoa(i+1), Reason: why})
			continue
		}
		in.Messages = append(in.Messages, m)
	}
	for i := range p.Statuses {
		s := &p.Statuses[i]
		u := consent.StatusUpdate{
			MessageID:   s.ID,
			RecipientID: s.RecipientID,
			Status:      consent.DeliveryStatus(s.Status),
			Timestamp:   s.Timestamp.Time,
		}
		for _, e := range s.Errors {
			title := e.Title
			if title == "" {
				title = e.Message
			}
			u.Errors = append(u.Errors, consent.ProviderErrorDetail{Code: int(e.Code), Title: safeTitle(title, nil)})
		}
		if u.RecipientID != "" && !isWaID(u.RecipientID) {
			in.Invalid = append(in.Invalid, consent.InvalidInbound{Item: "status " + strconv.Itoa(i+1), Reason: "recipient_id is not a wa_id"})
			continue
		}
		in.Statuses = append(in.Statuses, u)
	}
	for _, e := range p.Errors {
		title := e.Title
		if title == "" {
			title = e.Message
		}
		in.Errors = append(in.Errors, consent.ProviderErrorDetail{Code: int(e.Code), Title: safeTitle(title, nil)})
	}
	for i, up := range p.UserPreferences {
		if !isWaID(up.WaID) {
			in.Invalid = append(in.Invalid, consent.InvalidInbound{Item: "user_preferences " + strconv.Itoa(i+1), Reason: "wa_id is not a wa_id"})
			continue
		}
		in.Preferences = append(in.Preferences, consent.PreferenceUpdate{
			WaID:      up.WaID,
			Category:  up.Category,
			Value:     up.Value,
			Timestamp: up.Timestamp.Time,
		})
	}
}

// isWaID reports whether s can be a WhatsApp id: 1 to 15 ASCII digits (an
// E.164 number without its +). Anything else (markup, formulas, links) would
// become a contact and get a reply.
func isWaID(s string) bool {
	if len(s) == 0 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// maxProfileName bounds a profile name (WhatsApp allows 25 characters).
const maxProfileName = 256

// invalidMessage says why m cannot be from WhatsApp, or "" when it can.
func invalidMessage(m consent.InboundMessage) string {
	switch {
	case !isWaID(m.From):
		return "from is not a wa_id (1-15 digits)"
	case m.NewWaID != "" && !isWaID(m.NewWaID):
		return "new wa_id is not a wa_id (1-15 digits)"
	case utf8.RuneCountInString(m.Text) > consent.MaxInboundText:
		return "text longer than 4,096 characters"
	case strings.ContainsRune(m.Text, 0) || strings.ContainsRune(m.ButtonID, 0):
		return "text contains NUL"
	case strings.ContainsRune(m.Name, 0) || utf8.RuneCountInString(m.Name) > maxProfileName:
		return "profile name contains NUL or is longer than 256 characters"
	}
	return ""
}

// message converts one inbound message. Types optin does not act on keep
// their type and no text, to be stored and forwarded as they are.
func (p *payload) message(msg *inMessage) consent.InboundMessage {
	out := consent.InboundMessage{
		ID:        msg.ID,
		From:      msg.From,
		Name:      p.name(msg.From),
		Timestamp: msg.Timestamp.Time,
		Type:      consent.InboundType(msg.Type),
	}
	if msg.Context != nil {
		out.ContextID = msg.Context.ID
	}
	switch {
	case msg.Type == "text" && msg.Text != nil:
		out.Type = consent.InText
		out.Text = msg.Text.Body
	case msg.Type == "interactive" && msg.Interactive != nil &&
		msg.Interactive.Type == "button_reply" && msg.Interactive.ButtonReply != nil:
		out.Type = consent.InButtonReply
		out.ButtonID = msg.Interactive.ButtonReply.ID
		out.Text = msg.Interactive.ButtonReply.Title
	case msg.Type == "interactive" && msg.Interactive != nil &&
		msg.Interactive.Type == "list_reply" && msg.Interactive.ListReply != nil:
		// A row picked from a list is a reply by id like a button's.
		out.Type = consent.InButtonReply
		out.ButtonID = msg.Interactive.ListReply.ID
		out.Text = msg.Interactive.ListReply.Title
	case msg.Type == "button" && msg.Button != nil:
		out.Type = consent.InButton
		out.ButtonID = msg.Button.Payload
		out.Text = msg.Button.Text
	case msg.media() != nil:
		out.Media = msg.media()
	case msg.Type == "system" && msg.System != nil:
		out.Type = consent.InSystem
		out.SystemType = msg.System.Type
		if out.SystemType == systemChangedNumberOld {
			out.SystemType = systemChangedNumber
		}
		out.Text = msg.System.Body
		out.NewWaID = msg.System.NewWaID
		if out.NewWaID == "" {
			out.NewWaID = msg.System.WaID
		}
	}
	return out
}

// inMedia is the file of a media message.
type inMedia struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

// media returns the file of a media message of msg's type, nil for others.
func (msg *inMessage) media() *consent.Media {
	var m *inMedia
	switch msg.Type {
	case "image":
		m = msg.Image
	case "audio":
		m = msg.Audio
	case "video":
		m = msg.Video
	case "document":
		m = msg.Document
	case "sticker":
		m = msg.Sticker
	}
	if m == nil || m.ID == "" {
		return nil
	}
	return &consent.Media{ID: m.ID, MimeType: m.MimeType, SHA256: m.SHA256, Caption: m.Caption, Filename: m.Filename}
}

// name finds the profile name the webhook reports for waID.
func (p *payload) name(waID string) string {
	for _, c := range p.Contacts {
		if c.WaID == waID {
			return c.Profile.Name
		}
	}
	return ""
}

// unixTime reads unix seconds sent as a string (messages, statuses) or as
// a number (user_preferences). An unreadable value gives the zero time
// rather than failing the webhook: losing a person's STOP over a
// timestamp would be the worse error.
type unixTime struct{ time.Time }

func (t *unixTime) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	case b[0] == '{' || b[0] == '[':
		return errors.New("timestamp is not a number")
	}
	sec, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || f < 0 || f > maxUnix {
			return nil
		}
		sec = int64(f)
	}
	if sec <= 0 || sec > maxUnix {
		return nil
	}
	t.Time = time.Unix(sec, 0).UTC()
	return nil
}

// maxUnix is the year 9999: beyond it a timestamp is noise, and time.Time
// would format it oddly in RFC 3339 text columns.
const maxUnix = 253402300799
