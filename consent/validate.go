package consent

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WhatsApp's limits for messages optin sends.
const (
	MaxTextRunes        = 4096 // characters of a text message
	MaxReplyButtons     = 3    // reply buttons of an interactive message
	MaxButtonTitleRunes = 20   // characters of a button title
)

// Validate reports, without the message's content, why WhatsApp would
// refuse m. Every provider adapter, and the sandbox, checks messages with
// it before sending, so a mistake in optin shows up the same way everywhere.
func (m Message) Validate() error {
	bad := func(reason string) error { return errors.New(reason) }
	switch m.Kind {
	case KindRead:
		if m.ReadID == "" {
			return bad("read receipt without message id")
		}
		return nil
	case KindTemplate, KindText, KindInteractive, KindContacts:
	default:
		return bad("unknown kind " + strconv.Quote(string(m.Kind)))
	}
	if m.To == "" {
		return bad("no recipient")
	}
	switch m.Kind {
	case KindTemplate:
		t := m.Template
		if t == nil || t.Name == "" || t.Language == "" {
			return bad("template needs a name and a language")
		}
		for _, p := range t.BodyParams {
			if p == "" {
				return bad("empty template body parameter")
			}
		}
		for _, b := range t.Buttons {
			switch {
			case b.Index < 0:
				return bad("negative template button index")
			case b.SubType == "quick_reply" && b.Payload == "":
				return bad("quick reply button without payload")
			case b.SubType == "url" && b.Text == "":
				return bad("url button without suffix")
			case b.SubType != "quick_reply" && b.SubType != "url":
				return bad("unknown template button sub_type " + strconv.Quote(b.SubType))
			}
		}
	case KindText:
		if strings.TrimSpace(m.Text) == "" || utf8.RuneCountInString(m.Text) > MaxTextRunes {
			return bad("text must have 1 to 4096 characters")
		}
	case KindInteractive:
		in := m.Interactive
		if in == nil || strings.TrimSpace(in.Body) == "" {
			return bad("interactive message needs a body")
		}
		if len(in.Buttons) == 0 || len(in.Buttons) > MaxReplyButtons {
			return bad("interactive message needs 1 to 3 buttons")
		}
		for _, b := range in.Buttons {
			if b.ID == "" || b.Title == "" || utf8.RuneCountInString(b.Title) > MaxButtonTitleRunes {
				return bad("button needs an id and a title of at most 20 characters")
			}
		}
	case KindContacts:
		if len(m.Contacts) == 0 {
			return bad("no contact card")
		}
		for _, c := range m.Contacts {
			if c.Name == "" {
				return bad("contact card without name")
			}
		}
	}
	return nil
}
