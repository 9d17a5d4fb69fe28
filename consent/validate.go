package consent

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WhatsApp's limits for messages optin sends. WhatsApp counts characters,
// not bytes, so every length below is a count of runes ("é" and "ü" are one
// character each, as in the WhatsApp apps).
//
// Sources:
//   - text 4,096: the seeds ("Character limit: Text messages must not exceed
//     4096 characters", 360dialog's "Before sending a message"; the
//     reseller's "Don't send text messages with more than 4096 characters").
//   - template name 512 characters, template content 1,024: the seeds
//     (reseller's "Message Templates": "The message template name field is
//     limited to 512 characters", "content field is limited to 1024
//     characters"); names are lower-case letters, digits and underscores
//     (Meta's template schema, pattern ^[a-z][a-z0-9_]*$, which optin's
//     settings already enforce as [a-z0-9_]+).
//   - interactive reply buttons: body 1,024, header 60, footer 60, 1 to 3
//     buttons, title 20 characters unique within the message, id 256
//     characters (Meta's WhatsApp Node.js SDK reference "Reply Buttons
//     Object", whatsapp.github.io/WhatsApp-Nodejs-SDK/api-reference/types/ButtonObject;
//     and Meta's "Supported features and limits": body 1024, header 60,
//     footer 60, button text 20).
//   - interactive list messages: button label 20 characters, at most 10
//     sections and 10 rows in all, section title 24 (required with more
//     than one section), row id 200, row title 24, row description 72
//     (Meta's "Interactive list messages": "up to 10 sections, with up to
//     10 rows for all sections combined"; row limits from Meta's WhatsApp
//     Node.js SDK reference "Row Object": id 200, title 24, description 72;
//     the list button's label 20 and section title 24 from the SDK
//     references of the list action (whatsapp-api-js ActionList, the
//     Cloud API list section schema)).
//   - template quick-reply payload 128 characters: the limit named in
//     optin issue 10; the stored Cloud API pages only call it a
//     "developer-defined payload", so 128 is kept as the safe bound.
//   - template parameters may not hold new lines, tabs or more than four
//     consecutive spaces (Cloud API error 132018, "Param text cannot have
//     new-line/tab characters or more than 4 consecutive spaces").
//   - at most 10 template buttons (Meta: "Templates can have a maximum of
//     10 buttons"), so an index is 0 to 9.
const (
	MaxTextRunes          = 4096 // characters of a text message
	MaxInteractiveBody    = 1024 // characters of an interactive message's body
	MaxHeaderRunes        = 60   // characters of an interactive text header
	MaxFooterRunes        = 60   // characters of an interactive footer
	MaxReplyButtons       = 3    // reply buttons of an interactive message
	MaxButtonTitleRunes   = 20   // characters of a reply button title
	MaxButtonIDRunes      = 256  // characters of a reply button id
	MaxTemplateParamRunes = 1024 // characters of one template body parameter
	MaxTemplatePayload    = 128  // characters of a quick-reply button payload
	MaxTemplateNameRunes  = 512  // characters of a template name
	MaxTemplateButtons    = 10   // buttons of a template (indexes 0 to 9)
	MaxListButtonRunes    = 20   // characters of the label of a list's button
	MaxListSections       = 10   // sections of a list message
	MaxListRows           = 10   // rows of a list message, all sections together
	MaxListSectionTitle   = 24   // characters of a section title
	MaxListRowIDRunes     = 200  // characters of a row id
	MaxListRowTitle       = 24   // characters of a row title
	MaxListRowDescription = 72   // characters of a row description
)

// Validate reports, without the message's content, why WhatsApp would
// refuse m. Every provider adapter, and the sandbox, checks messages with
// it before sending, so a mistake in optin shows up the same way everywhere.
func (m Message) Validate() error {
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
		return validateTemplate(m.Template)
	case KindText:
		if strings.TrimSpace(m.Text) == "" || runes(m.Text) > MaxTextRunes {
			return bad("text must have 1 to 4096 characters")
		}
	case KindInteractive:
		return validateInteractive(m.Interactive)
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

func bad(reason string) error { return errors.New(reason) }

func runes(s string) int { return utf8.RuneCountInString(s) }

func validateTemplate(t *Template) error {
	if t == nil || t.Name == "" || t.Language == "" {
		return bad("template needs a name and a language")
	}
	if runes(t.Name) > MaxTemplateNameRunes || !templateNameRE.MatchString(t.Name) {
		return bad("template name must be 1 to 512 lower-case letters, digits or underscores")
	}
	if !templateLangRE.MatchString(t.Language) {
		return bad("template language must look like en or pt_BR")
	}
	for _, p := range t.BodyParams {
		switch {
		case strings.TrimSpace(p) == "":
			return bad("empty template body parameter")
		case runes(p) > MaxTemplateParamRunes:
			return bad("template body parameter longer than 1024 characters")
		case strings.ContainsAny(p, "\n\r\t") || strings.Contains(p, "     "):
			return bad("template body parameter with a new line, a tab or more than 4 consecutive spaces")
		}
	}
	if len(t.Buttons) > MaxTemplateButtons {
		return bad("template with more than 10 buttons")
	}
	seen := map[int]bool{}
	for _, b := range t.Buttons {
		switch {
		case b.Index < 0 || b.Index >= MaxTemplateButtons:
			return bad("template button index must be 0 to 9")
		case seen[b.Index]:
			return bad("two template buttons with the same index")
		case b.SubType == "quick_reply" && b.Payload == "":
			return bad("quick reply button without payload")
		case b.SubType == "quick_reply" && runes(b.Payload) > MaxTemplatePayload:
			return bad("quick reply payload longer than 128 characters")
		case b.SubType == "url" && b.Text == "":
			return bad("url button without suffix")
		case b.SubType != "quick_reply" && b.SubType != "url":
			return bad("unknown template button sub_type " + strconv.Quote(b.SubType))
		}
		seen[b.Index] = true
	}
	return nil
}

func validateInteractive(in *Interactive) error {
	switch {
	case in == nil || strings.TrimSpace(in.Body) == "":
		return bad("interactive message needs a body")
	case runes(in.Body) > MaxInteractiveBody:
		return bad("interactive body longer than 1024 characters")
	case runes(in.Header) > MaxHeaderRunes:
		return bad("interactive header longer than 60 characters")
	case runes(in.Footer) > MaxFooterRunes:
		return bad("interactive footer longer than 60 characters")
	case in.List != nil && len(in.Buttons) > 0:
		return bad("interactive message with both buttons and a list")
	case in.List != nil:
		return validateList(in.List)
	case len(in.Buttons) == 0 || len(in.Buttons) > MaxReplyButtons:
		return bad("interactive message needs 1 to 3 buttons")
	}
	ids, titles := map[string]bool{}, map[string]bool{}
	for _, b := range in.Buttons {
		switch {
		case strings.TrimSpace(b.Title) == "" || runes(b.Title) > MaxButtonTitleRunes:
			return bad("button needs a title of 1 to 20 characters")
		case b.ID == "" || runes(b.ID) > MaxButtonIDRunes || strings.TrimSpace(b.ID) != b.ID:
			return bad("button needs an id of 1 to 256 characters without surrounding spaces")
		case ids[b.ID]:
			return bad("two buttons with the same id")
		case titles[b.Title]:
			return bad("two buttons with the same title")
		}
		ids[b.ID], titles[b.Title] = true, true
	}
	return nil
}

func validateList(l *List) error {
	switch {
	case strings.TrimSpace(l.Button) == "" || runes(l.Button) > MaxListButtonRunes:
		return bad("list needs a button label of 1 to 20 characters")
	case len(l.Sections) == 0 || len(l.Sections) > MaxListSections:
		return bad("list needs 1 to 10 sections")
	}
	rows, ids := 0, map[string]bool{}
	for _, sec := range l.Sections {
		switch {
		case runes(sec.Title) > MaxListSectionTitle:
			return bad("list section title longer than 24 characters")
		case len(l.Sections) > 1 && strings.TrimSpace(sec.Title) == "":
			return bad("list sections need titles when there are several")
		case len(sec.Rows) == 0:
			return bad("list section without rows")
		}
		for _, r := range sec.Rows {
			rows++
			switch {
			case r.ID == "" || runes(r.ID) > MaxListRowIDRunes || strings.TrimSpace(r.ID) != r.ID:
				return bad("list row needs an id of 1 to 200 characters without surrounding spaces")
			case ids[r.ID]:
				return bad("two list rows with the same id")
			case strings.TrimSpace(r.Title) == "" || runes(r.Title) > MaxListRowTitle:
				return bad("list row needs a title of 1 to 24 characters")
			case runes(r.Description) > MaxListRowDescription:
				return bad("list row description longer than 72 characters")
			}
			ids[r.ID] = true
		}
	}
	if rows > MaxListRows {
		return bad("list with more than 10 rows")
	}
	return nil
}

// MaxBusinessNameRunes bounds OPTIN_BUSINESS_NAME: every built-in message is
// tested to stay within WhatsApp's limits with a name this long.
const MaxBusinessNameRunes = 60

// ValidBusinessName reports whether name can be the business name: it is a
// template parameter of the welcome message (no line breaks, tabs or more
// than four spaces in a row) and fills the prompts within their limits.
func ValidBusinessName(name string) bool {
	return strings.TrimSpace(name) != "" && runes(name) <= MaxBusinessNameRunes &&
		!strings.ContainsAny(name, "\n\r\t") && !strings.Contains(name, "     ")
}
