package sandbox

import (
	"cmp"
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// previewLength is how much of the last message the chat list shows.
const previewLength = 60

// indexModel is the chat list, newest chat first, with the form that
// writes in through an entry point.
func (p *Phone) indexModel(ctx context.Context, code string) views.SandboxModel {
	start := p.startForm(ctx, code)
	m := p.chatList()
	m.Start = start
	return m
}

// chatList is the chat list, newest chat first.
func (p *Phone) chatList() views.SandboxModel {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.pageModel()
	chats := make([]*chat, 0, len(p.chats))
	for _, c := range p.chats {
		chats = append(chats, c)
	}
	slices.SortFunc(chats, func(a, b *chat) int {
		return cmp.Or(b.updated.Compare(a.updated), cmp.Compare(a.waID, b.waID))
	})
	for _, c := range chats {
		item := views.SandboxChatItem{
			WaID:          c.waID,
			Number:        "+" + c.waID,
			URL:           chatURL(c.waID),
			Time:          clock(c.updated),
			TimeISO:       c.updated.UTC().Format(time.RFC3339),
			Unread:        c.unread(),
			Undeliverable: undeliverable(c.waID),
		}
		if n := len(c.msgs); n > 0 {
			item.Preview = shorten(p.bubble(c.msgs[n-1]).PlainText(), previewLength)
		}
		m.Chats = append(m.Chats, item)
	}
	return m
}

// chatModel is the chat of waID, which may have no messages yet.
func (p *Phone) chatModel(waID string) views.SandboxModel {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := p.pageModel()
	base := chatURL(waID)
	cm := &views.SandboxChatModel{
		WaID:          waID,
		Number:        "+" + waID,
		URL:           base,
		PollURL:       base + "/messages.json",
		ReadURL:       base + "/read",
		ReplyURL:      base + "/messages",
		ButtonURL:     base + "/buttons",
		Undeliverable: undeliverable(waID),
	}
	if c := p.chats[waID]; c != nil {
		for _, msg := range c.msgs {
			cm.Bubbles = append(cm.Bubbles, p.bubble(msg))
		}
		cm.Unread = c.unread()
	}
	m.Chat = cm
	return m
}

func (p *Phone) pageModel() views.SandboxModel {
	return views.SandboxModel{BusinessName: p.opt.BusinessName, BusinessNumber: p.opt.BusinessNumber}
}

// bubble maps a message to its view. p.mu is held.
func (p *Phone) bubble(m *message) views.SandboxBubble {
	b := views.SandboxBubble{
		ID:           m.id,
		FromBusiness: m.fromBusiness,
		Status:       string(m.status),
		Time:         clock(m.at),
		TimeISO:      m.at.UTC().Format(time.RFC3339),
		ErrorCode:    m.errorCode,
		Spans:        m.formatted(),
	}
	switch {
	case m.template != nil:
		t := m.template
		b.TemplateName = t.Name + " (" + t.Language + ")"
		for _, tb := range t.Buttons {
			b.Buttons = append(b.Buttons, views.SandboxButton{
				ID:       tb.Payload,
				Title:    buttonTitle(tb),
				Tappable: tb.SubType == "quick_reply",
				URL:      buttonURL(tb),
			})
		}
	case m.interactive != nil:
		b.Header, b.Footer = m.interactive.Header, m.interactive.Footer
		for _, ib := range m.interactive.Buttons {
			b.Buttons = append(b.Buttons, views.SandboxButton{ID: ib.ID, Title: ib.Title, Tappable: true})
		}
		if l := m.interactive.List; l != nil {
			// The phone opens the list from its button; the sandbox shows
			// the rows at once, under the button's label and their sections.
			b.ListButton = l.Button
			for _, sec := range l.Sections {
				for _, r := range sec.Rows {
					b.Buttons = append(b.Buttons, views.SandboxButton{ID: r.ID, Title: r.Title, Description: r.Description,
						Section: sec.Title, Tappable: true})
				}
			}
		}
	}
	for _, c := range m.cards {
		b.Cards = append(b.Cards, views.SandboxCard{Name: c.Name, Phone: c.Phone, Email: c.Email, URL: webURL(c.URL)})
	}
	if m.contextID != "" {
		for _, c := range p.chats {
			if orig := c.find(m.contextID); orig != nil {
				b.Quote = shorten(p.bubble(orig).PlainText(), previewLength)
				break
			}
		}
	}
	return b
}

// formatted returns the message's text as spans, formatting it once: the
// page and messages.json ask for it again every second. p.mu is held.
func (m *message) formatted() []views.SandboxSpan {
	if m.spans == nil {
		text := m.text
		if m.template != nil && m.template.Preview == "" {
			// Without the approved body only its parameters can be shown.
			text = strings.Join(m.template.BodyParams, " · ")
		}
		m.spans = spans(text)
		if m.spans == nil {
			m.spans = []views.SandboxSpan{}
		}
	}
	return m.spans
}

// buttonTitle is a template button's label: its approved title, or what
// it carries when optin did not say.
func buttonTitle(b consent.TemplateButton) string {
	return cmp.Or(b.Title, b.Text, b.Payload)
}

// spans formats text for the page.
func spans(text string) []views.SandboxSpan {
	var out []views.SandboxSpan
	for _, s := range Format(text) {
		out = append(out, views.SandboxSpan(s))
	}
	return out
}

// webURL keeps a contact card's address only when it is an http(s) one.
func webURL(s string) string {
	if s == "" {
		return "" // a card without an address (optin's own card has none)
	}
	if n, link := urlAt(s, 0); n == len(s) {
		return link
	}
	return ""
}

// clock is the time of day a bubble shows; the page's script replaces it
// with the reader's local time.
func clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("15:04")
}

// shorten cuts s to at most n characters on one line.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

// buttonURL is where a template's URL button leads in the sandbox: the
// welcome's "Manage my choices" carries the preference token as its URL
// suffix, and the approved URL is {base}/p/{{1}}, served by this same
// server. Other buttons (and one not filled yet) lead nowhere.
func buttonURL(tb consent.TemplateButton) string {
	if tb.SubType != "url" || tb.Text == "" || strings.Contains(tb.Text, "{{") {
		return ""
	}
	return "/p/" + url.PathEscape(tb.Text)
}
