package whatsapp

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/optin/optin/consent"
)

// The wire structs below encode outgoing messages. They are structs rather
// than maps so the field set is fixed in one place and encoding allocates
// little; omitempty marks what the formats leave out when unset.

type wireMessage struct {
	MessagingProduct string           `json:"messaging_product,omitempty"` // Cloud API only
	RecipientType    string           `json:"recipient_type,omitempty"`
	To               string           `json:"to,omitempty"`
	Type             string           `json:"type,omitempty"`
	PreviewURL       *bool            `json:"preview_url,omitempty"` // on-premise puts it here, not in text
	Text             *wireText        `json:"text,omitempty"`
	Template         *wireTemplate    `json:"template,omitempty"`
	Interactive      *wireInteractive `json:"interactive,omitempty"`
	Contacts         []wireCard       `json:"contacts,omitempty"`
	Status           string           `json:"status,omitempty"`     // mark as read
	MessageID        string           `json:"message_id,omitempty"` // mark as read
}

type wireText struct {
	Body       string `json:"body"`
	PreviewURL *bool  `json:"preview_url,omitempty"` // Cloud API
}

type wireTemplate struct {
	Namespace  string          `json:"namespace,omitempty"`
	Name       string          `json:"name"`
	Language   wireLanguage    `json:"language"`
	Components []wireComponent `json:"components,omitempty"`
}

type wireLanguage struct {
	Policy string `json:"policy,omitempty"`
	Code   string `json:"code"`
}

type wireComponent struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []wireParam `json:"parameters"`
}

type wireParam struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	Payload string `json:"payload,omitempty"`
}

type wireInteractive struct {
	Type   string      `json:"type"`
	Header *wireHeader `json:"header,omitempty"`
	Body   wireLabel   `json:"body"`
	Footer *wireLabel  `json:"footer,omitempty"`
	Action wireAction  `json:"action"`
}

type wireHeader struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type wireLabel struct {
	Text string `json:"text"`
}

type wireAction struct {
	Buttons  []wireButton  `json:"buttons,omitempty"`
	Button   string        `json:"button,omitempty"`   // list: the label of the button opening it
	Sections []wireSection `json:"sections,omitempty"` // list
}

type wireSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []wireRow `json:"rows"`
}

type wireRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

type wireButton struct {
	Type  string    `json:"type"`
	Reply wireReply `json:"reply"`
}

type wireReply struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type wireCard struct {
	Name   wireName    `json:"name"`
	Phones []wirePhone `json:"phones,omitempty"`
	Emails []wireEmail `json:"emails,omitempty"`
	URLs   []wireURL   `json:"urls,omitempty"`
}

type wireName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name"`
}

type wirePhone struct {
	Phone string `json:"phone"`
	Type  string `json:"type"`
	// WaID lets the person message the number from the card; without it
	// WhatsApp only offers to invite the number (360dialog's advice).
	WaID string `json:"wa_id,omitempty"`
}

type wireEmail struct {
	Email string `json:"email"`
	Type  string `json:"type"`
}

type wireURL struct {
	URL  string `json:"url"`
	Type string `json:"type"`
}

// validate rejects messages the provider would refuse anyway: WhatsApp's
// rules (consent.Message.Validate) and v1's namespace. Titles name the
// problem, never the content.
func validate(provider string, m consent.Message) error {
	if err := m.Validate(); err != nil {
		return invalid(err.Error())
	}
	if provider == ProviderV1 && m.Kind == consent.KindTemplate && m.Template.Namespace == "" {
		return invalid("v1 templates need a namespace")
	}
	return nil
}

// marshalMessage encodes a validated message for POST /messages.
func marshalMessage(provider string, m consent.Message) ([]byte, error) {
	cloudAPI := provider != ProviderV1
	w := wireMessage{}
	if cloudAPI {
		w.MessagingProduct = "whatsapp"
	}
	if m.Kind == consent.KindRead {
		w.Status = "read"
		w.MessageID = m.ReadID
		return json.Marshal(w)
	}
	w.RecipientType = "individual"
	w.To = m.To
	w.Type = string(m.Kind)
	switch m.Kind {
	case consent.KindTemplate:
		w.Template = wireTemplateOf(m.Template, cloudAPI)
	case consent.KindText:
		preview := m.PreviewURL
		w.Text = &wireText{Body: m.Text}
		if cloudAPI {
			w.Text.PreviewURL = &preview
		} else {
			w.PreviewURL = &preview
		}
	case consent.KindInteractive:
		w.Interactive = wireInteractiveOf(m.Interactive)
	case consent.KindContacts:
		w.Contacts = make([]wireCard, 0, len(m.Contacts))
		for _, c := range m.Contacts {
			w.Contacts = append(w.Contacts, wireCardOf(c))
		}
	}
	return json.Marshal(w)
}

func wireTemplateOf(t *consent.Template, cloudAPI bool) *wireTemplate {
	w := &wireTemplate{Name: t.Name, Language: wireLanguage{Code: t.Language}}
	if !cloudAPI {
		// The on-premise API wants the namespace and an explicit policy;
		// "deterministic" is the only one it still accepts.
		w.Namespace = t.Namespace
		w.Language.Policy = "deterministic"
	}
	if len(t.BodyParams) > 0 {
		params := make([]wireParam, 0, len(t.BodyParams))
		for _, p := range t.BodyParams {
			params = append(params, wireParam{Type: "text", Text: p})
		}
		w.Components = append(w.Components, wireComponent{Type: "body", Parameters: params})
	}
	for _, b := range t.Buttons {
		c := wireComponent{Type: "button", SubType: b.SubType, Index: strconv.Itoa(b.Index)}
		if b.SubType == "url" {
			c.Parameters = []wireParam{{Type: "text", Text: b.Text}}
		} else {
			c.Parameters = []wireParam{{Type: "payload", Payload: b.Payload}}
		}
		w.Components = append(w.Components, c)
	}
	return w
}

func wireInteractiveOf(in *consent.Interactive) *wireInteractive {
	w := &wireInteractive{Type: "button", Body: wireLabel{Text: in.Body}}
	if in.Header != "" {
		w.Header = &wireHeader{Type: "text", Text: in.Header}
	}
	if in.Footer != "" {
		w.Footer = &wireLabel{Text: in.Footer}
	}
	if in.List != nil {
		// The Cloud API and on-premise take lists alike:
		// {"type":"list","action":{"button":…,"sections":[{"title","rows":[{"id","title","description"}]}]}}.
		w.Type = "list"
		w.Action.Button = in.List.Button
		for _, sec := range in.List.Sections {
			ws := wireSection{Title: sec.Title, Rows: make([]wireRow, 0, len(sec.Rows))}
			for _, r := range sec.Rows {
				ws.Rows = append(ws.Rows, wireRow{ID: r.ID, Title: r.Title, Description: r.Description})
			}
			w.Action.Sections = append(w.Action.Sections, ws)
		}
		return w
	}
	w.Action.Buttons = make([]wireButton, 0, len(in.Buttons))
	for _, b := range in.Buttons {
		w.Action.Buttons = append(w.Action.Buttons, wireButton{Type: "reply", Reply: wireReply{ID: b.ID, Title: b.Title}})
	}
	return w
}

func wireCardOf(c consent.Card) wireCard {
	w := wireCard{Name: wireName{FormattedName: c.Name, FirstName: c.Name}}
	if c.Phone != "" {
		w.Phones = []wirePhone{{Phone: c.Phone, Type: "WORK", WaID: waIDOf(c.Phone)}}
	}
	if c.Email != "" {
		w.Emails = []wireEmail{{Email: c.Email, Type: "WORK"}}
	}
	if c.URL != "" {
		w.URLs = []wireURL{{URL: c.URL, Type: "WORK"}}
	}
	return w
}

// waIDOf returns the digits of an E.164 number, which is the wa_id WhatsApp
// expects, or "" when phone is not E.164 (then the card just shows it).
func waIDOf(phone string) string {
	digits := strings.TrimPrefix(phone, "+")
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return ""
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return ""
		}
	}
	return digits
}
