package views

import (
	"context"
	"strings"
	"testing"
)

func sandboxHTML(t *testing.T, m SandboxModel) string {
	t.Helper()
	var b strings.Builder
	if err := SandboxPage(m).Render(context.Background(), &b); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.String()
}

// wantInOrder checks that html holds each of want, in that order.
func wantInOrder(t *testing.T, html string, want ...string) {
	t.Helper()
	rest := html
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("missing (or out of order) %q", w)
			continue
		}
		rest = rest[i+len(w):]
	}
}

func wantNone(t *testing.T, html string, dontWant ...string) {
	t.Helper()
	for _, w := range dontWant {
		if strings.Contains(html, w) {
			t.Errorf("has %q", w)
		}
	}
}

func sandboxChatModel() SandboxModel {
	return SandboxModel{
		BusinessName:   "Acme <Shop>",
		BusinessNumber: "+12025550199",
		Chat: &SandboxChatModel{
			WaID: "4915112345678", Number: "+4915112345678",
			URL: "/sandbox/chats/4915112345678", PollURL: "/sandbox/chats/4915112345678/messages.json",
			ReadURL: "/sandbox/chats/4915112345678/read", ReplyURL: "/sandbox/chats/4915112345678/messages",
			ButtonURL: "/sandbox/chats/4915112345678/buttons",
			Unread:    1,
			Bubbles: []SandboxBubble{
				{
					ID: "wamid.SANDBOX.1", FromBusiness: true, Status: "read", Time: "10:00", TimeISO: "2025-02-12T10:00:00Z",
					TemplateName: "optin_welcome (en)",
					Spans: []SandboxSpan{
						{Text: "Hi "}, {Text: "<b>you</b>", Bold: true}, {Text: " "},
						{Text: "all", Bold: true, Italic: true, Strike: true}, {Text: " "}, {Text: "x<y", Mono: true}, {Text: " "},
						{Text: "site", Link: "https://example.com/?a=1&b=2"}, {Text: " "}, {Text: "evil", Link: "javascript:alert(1)"},
					},
					Buttons: []SandboxButton{
						{ID: "optin_confirm", Title: "Confirm", Tappable: true},
						{ID: "", Title: "Preferences"},
					},
				},
				{
					ID: "wamid.SANDBOX.2", FromBusiness: true, Status: "delivered", Time: "10:01",
					Header: "Terms", Spans: []SandboxSpan{{Text: "Accept?"}}, Footer: "Acme",
					Buttons: []SandboxButton{{ID: "terms_accept", Title: "Accept", Tappable: true}},
				},
				{
					ID: "wamid.SANDBOX.3", FromBusiness: true, Status: "failed", ErrorCode: 131026, Time: "10:02",
					Cards: []SandboxCard{{Name: "Support", Phone: "+12025550100", URL: "javascript:alert(2)"}},
				},
				{
					ID: "wamid.SANDBOXIN.1", Status: "sent", Time: "10:03", Quote: "Accept?",
					Spans: []SandboxSpan{{Text: "Accept"}},
				},
			},
		},
	}
}

func TestSandboxChatPage(t *testing.T) {
	html := sandboxHTML(t, sandboxChatModel())
	wantInOrder(t, html,
		`<!doctype html>`, `<html lang="en">`,
		`<link rel="stylesheet" href="/static/css/sandbox.css">`,
		`<script src="/static/js/sandbox.js" defer></script>`,
		`data-testid="sandbox-banner"`, `no real WhatsApp messages are sent`,
		`data-sandbox-chat`, `data-poll-url="/sandbox/chats/4915112345678/messages.json"`,
		`Phone of <strong>+4915112345678</strong>`,
		`Acme &lt;Shop&gt;`, `+12025550199`,
		`>Refresh</a>`, `action="/sandbox/chats/4915112345678/read"`, `Mark as read`,
		`id="chat-log"`, `role="log" aria-live="polite"`,
		// The template, formatted and escaped.
		`data-testid="bubble" data-id="wamid.SANDBOX.1" data-from="business" data-status="read"`,
		`Template optin_welcome (en)`,
		`data-testid="bubble-text">Hi <strong>&lt;b&gt;you&lt;/b&gt;</strong> <strong><em><s>all</s></em></strong> <code>x&lt;y</code> <a href="https://example.com/?a=1&amp;b=2"`,
		`>site</a> <a href="about:invalid#TemplFailedSanitizationURL"`,
		`<span class="sb-tick" aria-hidden="true" data-tick>✓✓</span>`, `>Read</span>`,
		`name="message_id" value="wamid.SANDBOX.1"`, `name="button_id" value="optin_confirm"`,
		`data-testid="button-optin_confirm">Confirm</button>`, `Preferences</span>`,
		// The interactive message.
		`data-status="delivered"`, `<p class="sb-header">Terms</p>`, `Accept?`, `<p class="sb-footer">Acme</p>`,
		`data-testid="button-terms_accept">Accept</button>`,
		// The failed contact card.
		`data-status="failed"`, `data-testid="contact-card"`, `Support`, `+12025550100`,
		`data-tick>!</span>`, `>Not on WhatsApp</span>`,
		// The person's tap.
		`data-from="person" data-status="sent"`, `Reply to: </span>Accept?`, `data-tick>✓</span>`, `>Sent</span>`,
		// The reply box.
		`action="/sandbox/chats/4915112345678/messages"`, `<label class="sb-vh" for="reply-text">`,
		`data-testid="reply-text"`, `data-testid="reply-send"`,
		`id="sb-form-error"`, `hidden`,
	)
	wantNone(t, html, `<b>`, `href="javascript:`, ` style=`, `<style`, `http://`+"cdn", `aria-invalid`)
	if strings.Count(html, "<script") != 1 {
		t.Errorf("page has %d scripts, want only sandbox.js", strings.Count(html, "<script"))
	}
}

func TestSandboxChatPageStates(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		m := sandboxChatModel()
		m.Chat.Bubbles, m.Chat.Unread = nil, 0
		html := sandboxHTML(t, m)
		wantInOrder(t, html, `No messages yet.`, `data-testid="reply-text"`)
		wantNone(t, html, `data-testid="bubble"`, `Mark as read`)
	})
	t.Run("not on WhatsApp", func(t *testing.T) {
		m := sandboxChatModel()
		m.Chat.Undeliverable = true
		html := sandboxHTML(t, m)
		wantInOrder(t, html, `is not on WhatsApp in the sandbox`)
		wantNone(t, html, `data-testid="reply-text"`, `data-testid="reply-send"`)
	})
	t.Run("error", func(t *testing.T) {
		m := sandboxChatModel()
		m.Chat.Reply, m.Chat.Error = "<i>draft</i>", "Type a message first."
		html := sandboxHTML(t, m)
		wantInOrder(t, html,
			`data-testid="reply-text" aria-invalid="true" aria-describedby="sb-form-error">&lt;i&gt;draft&lt;/i&gt;</textarea>`,
			`id="sb-form-error" class="sb-error sb-error--bar" role="alert">Type a message first.</p>`)
	})
}

func TestSandboxChatList(t *testing.T) {
	m := SandboxModel{
		BusinessName: "Acme", BusinessNumber: "+12025550199",
		Chats: []SandboxChatItem{
			{WaID: "4915112345678", Number: "+4915112345678", URL: "/sandbox/chats/4915112345678", Preview: "<hi>", Time: "10:00", TimeISO: "2025-02-12T10:00:00Z", Unread: 2},
			{WaID: "4915112340000", Number: "+4915112340000", URL: "/sandbox/chats/4915112340000", Preview: "Hello", Undeliverable: true},
		},
	}
	html := sandboxHTML(t, m)
	wantInOrder(t, html,
		`data-testid="sandbox-banner"`, `<h1 id="sb-title" class="sb-appbar__title">Chats</h1>`, `Acme · +12025550199`,
		`<form class="sb-open" method="get" action="/sandbox">`, `<label class="sb-open__label" for="sb-number">`,
		`id="sb-number"`, `aria-describedby="sb-number-hint"`, `id="sb-number-hint"`,
		`data-testid="chat-list"`,
		`href="/sandbox/chats/4915112345678" data-testid="chat-4915112345678"`, `&lt;hi&gt;`,
		`<time datetime="2025-02-12T10:00:00Z">10:00</time>`, `<span class="sb-badge" aria-hidden="true">2</span>`, `<span class="sb-vh">2 unread messages</span>`,
		`data-testid="chat-4915112340000"`, `Not on WhatsApp`,
	)
	wantNone(t, html, `No chats yet`, `aria-invalid`, `data-sandbox-chat`)

	m.Chats, m.Number, m.NumberError = nil, `"><x>`, "Type a number."
	html = sandboxHTML(t, m)
	wantInOrder(t, html,
		`value="&#34;&gt;&lt;x&gt;"`, `aria-describedby="sb-number-error sb-number-hint"`, `aria-invalid="true"`,
		`id="sb-number-error" class="sb-error" role="alert">Type a number.</p>`,
		`No chats yet.`, `data-testid="chat-list"`)
}

func TestSandboxBubbleStatus(t *testing.T) {
	tests := []struct {
		b         SandboxBubble
		wantTick  string
		wantLabel string
	}{
		{SandboxBubble{Status: "sent", FromBusiness: true}, "✓", "Sent"},
		{SandboxBubble{Status: "delivered", FromBusiness: true}, "✓✓", "Delivered"},
		{SandboxBubble{Status: "read", FromBusiness: true}, "✓✓", "Read"},
		{SandboxBubble{Status: "failed", FromBusiness: true, ErrorCode: 131026}, "!", "Not on WhatsApp"},
		{SandboxBubble{Status: "failed", FromBusiness: true}, "!", "Failed"},
		{SandboxBubble{Status: "failed"}, "!", "Not accepted by optin"},
	}
	for _, tt := range tests {
		if got := tt.b.Tick(); got != tt.wantTick {
			t.Errorf("Tick(%+v) = %q, want %q", tt.b, got, tt.wantTick)
		}
		if got := tt.b.StatusLabel(); got != tt.wantLabel {
			t.Errorf("StatusLabel(%+v) = %q, want %q", tt.b, got, tt.wantLabel)
		}
	}
}

func TestSandboxStartForm(t *testing.T) {
	m := SandboxModel{
		BusinessName: "Acme", BusinessNumber: "+12025550199",
		Start: &SandboxStartModel{
			Number: "+4915122223333", Code: "SPRING",
			Entries: []SandboxEntry{{Code: "HELLO", Label: "Default (HELLO)"}, {Code: "SPRING", Label: "<Spring> (SPRING)"}},
		},
	}
	html := sandboxHTML(t, m)
	wantInOrder(t, html,
		`<form class="sb-open"`,
		`<form class="sb-start" method="post" action="/sandbox/start" aria-labelledby="sb-start-title" data-testid="start-form">`,
		`<h2 id="sb-start-title"`, `Write in through an entry point`, `id="sb-start-hint"`, `QR code`, `sends it to Acme`,
		`<label class="sb-start__label" for="sb-start-number">`,
		`value="+4915122223333" aria-describedby="sb-start-hint" data-testid="start-number"`,
		`<label class="sb-start__label" for="sb-start-code">`, `data-testid="start-code"`,
		`<option value="HELLO">Default (HELLO)</option>`, `<option value="SPRING" selected>&lt;Spring&gt; (SPRING)</option>`,
		`data-testid="start-submit">Write in</button>`,
		`data-testid="chat-list"`,
	)
	wantNone(t, html, `aria-invalid`, `role="alert"`, `<Spring>`)

	m.Start.NumberError, m.Start.CodeError = "Type a number.", "Choose one."
	html = sandboxHTML(t, m)
	wantInOrder(t, html,
		`aria-describedby="sb-start-number-error sb-start-hint" data-testid="start-number" aria-invalid="true"`,
		`id="sb-start-number-error" class="sb-error sb-start__error" role="alert">Type a number.</p>`,
		`data-testid="start-code" aria-invalid="true" aria-describedby="sb-start-code-error"`,
		`id="sb-start-code-error" class="sb-error sb-start__error" role="alert">Choose one.</p>`,
	)

	m.Start = nil
	wantNone(t, sandboxHTML(t, m), `data-testid="start-form"`)
}
