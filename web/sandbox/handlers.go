package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// maxForm caps the body of the sandbox's form posts.
const maxForm = 64 << 10

// Register adds the phone simulator's routes to mux. Only the POSTs change
// anything; they answer 303 back to the chat, or JSON when the request
// accepts application/json (sandbox.js).
func (p *Phone) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /sandbox", p.handleIndex)
	mux.HandleFunc("GET /sandbox/{$}", p.handleSlash)
	mux.HandleFunc("GET /sandbox/chats/{wa_id}", p.handleChatShow)
	mux.HandleFunc("GET /sandbox/chats/{wa_id}/messages.json", p.handleChatJSON)
	mux.HandleFunc("POST /sandbox/chats/{wa_id}/messages", p.handleReplyCreate)
	mux.HandleFunc("POST /sandbox/chats/{wa_id}/buttons", p.handleButtonTap)
	mux.HandleFunc("POST /sandbox/chats/{wa_id}/read", p.handleChatRead)
	mux.HandleFunc("POST /sandbox/start", p.handleStart)
}

// chatURL is the page of waID's chat.
func chatURL(waID string) string { return "/sandbox/chats/" + url.PathEscape(waID) }

// handleIndex shows the chat list, or opens the chat of ?number=.
func (p *Phone) handleIndex(w http.ResponseWriter, r *http.Request) {
	m := p.indexModel(r.Context())
	if r.URL.Query().Has("number") {
		typed := r.URL.Query().Get("number")
		if waID, ok := NormalizeNumber(typed); ok {
			http.Redirect(w, r, chatURL(waID), http.StatusSeeOther)
			return
		}
		m.Number = typed
		m.NumberError = "Type a number in international format, with its country code, such as +4915112345678."
		p.render(w, r, http.StatusUnprocessableEntity, m)
		return
	}
	p.render(w, r, http.StatusOK, m)
}

func (p *Phone) handleSlash(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/sandbox", http.StatusMovedPermanently)
}

// handleChatShow shows one chat. Opening a chat that has nothing yet shows
// it empty without starting it: only what is sent or written starts a chat.
func (p *Phone) handleChatShow(w http.ResponseWriter, r *http.Request) {
	waID, ok := p.pathNumber(w, r)
	if !ok {
		return
	}
	p.render(w, r, http.StatusOK, p.chatModel(waID))
}

// handleChatJSON is what sandbox.js polls: the chat's messages and their
// statuses.
func (p *Phone) handleChatJSON(w http.ResponseWriter, r *http.Request) {
	waID, ok := NormalizeNumber(r.PathValue("wa_id"))
	if !ok {
		writeJSONError(w, http.StatusNotFound, "invalid_number", "Not a phone number in international format.")
		return
	}
	c := p.chatModel(waID).Chat
	out := chatJSON{WaID: waID, Unread: c.Unread, Messages: make([]messageJSON, 0, len(c.Bubbles))}
	for _, b := range c.Bubbles {
		out.Messages = append(out.Messages, bubbleJSON(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// handleReplyCreate receives what the person writes and sends it to optin.
func (p *Phone) handleReplyCreate(w http.ResponseWriter, r *http.Request) {
	waID, ok := p.pathNumber(w, r)
	if !ok || !p.parseForm(w, r, waID) {
		return
	}
	text := strings.TrimSpace(strings.ToValidUTF8(r.PostForm.Get("text"), "\uFFFD"))
	var problem string
	switch {
	case undeliverable(waID):
		problem = "This number is not on WhatsApp, so it cannot write."
	case text == "":
		problem = "Type a message first."
	case utf8.RuneCountInString(text) > consent.MaxTextRunes:
		problem = "A message has at most 4096 characters."
	}
	if problem != "" {
		p.refuse(w, r, waID, "invalid_message", problem, text)
		return
	}
	b, ok := p.writeText(waID, text)
	if !ok {
		p.unavailable(w, r)
		return
	}
	p.written(w, r, waID, b)
}

// handleButtonTap taps a reply button of an interactive message or a quick
// reply of a template; optin gets what WhatsApp would send for it.
func (p *Phone) handleButtonTap(w http.ResponseWriter, r *http.Request) {
	waID, ok := p.pathNumber(w, r)
	if !ok || !p.parseForm(w, r, waID) {
		return
	}
	messageID, buttonID := r.PostForm.Get("message_id"), r.PostForm.Get("button_id")
	if undeliverable(waID) {
		p.refuse(w, r, waID, "invalid_button", "This number is not on WhatsApp, so it cannot tap buttons.", "")
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.unavailable(w, r)
		return
	}
	msg, err := p.tap(waID, messageID, buttonID)
	var b views.SandboxBubble
	if err == nil {
		b = p.bubble(msg)
	}
	p.mu.Unlock()
	if err != nil {
		p.refuse(w, r, waID, "invalid_button", "That button is not in this chat.", "")
		return
	}
	p.written(w, r, waID, b)
}

var errNoButton = errors.New("sandbox: no such button")

// tap stores the person's tap on buttonID of the business's message
// messageID and sends it to optin. The title is the button's own: the
// form's copy of it is only for the person's eyes. p.mu is held.
func (p *Phone) tap(waID, messageID, buttonID string) (*message, error) {
	c := p.chats[waID]
	if c == nil || buttonID == "" {
		return nil, errNoButton
	}
	orig := c.find(messageID)
	if orig == nil || !orig.fromBusiness || orig.status == consent.StatusFailed {
		return nil, errNoButton
	}
	msg := &message{buttonID: buttonID, contextID: orig.id}
	switch {
	case orig.interactive != nil:
		for _, b := range orig.interactive.Buttons {
			if b.ID == buttonID {
				msg.kind, msg.text = string(consent.InButtonReply), b.Title
			}
		}
		if l := orig.interactive.List; l != nil {
			for _, sec := range l.Sections {
				for _, r := range sec.Rows {
					if r.ID == buttonID {
						msg.kind, msg.text = kindListReply, r.Title
					}
				}
			}
		}
	case orig.template != nil:
		for _, b := range orig.template.Buttons {
			if b.SubType == "quick_reply" && b.Payload == buttonID {
				msg.kind, msg.text = string(consent.InButton), buttonTitle(b)
			}
		}
	}
	if msg.kind == "" {
		return nil, errNoButton
	}
	p.write(c, msg)
	return msg, nil
}

// handleChatRead is the person opening the chat: the business's messages
// turn read, and optin gets a read status for each.
func (p *Phone) handleChatRead(w http.ResponseWriter, r *http.Request) {
	waID, ok := p.pathNumber(w, r)
	if !ok {
		return
	}
	p.mu.Lock()
	n := 0
	if c := p.chats[waID]; c != nil && !p.closed {
		n = p.read(c)
	}
	p.mu.Unlock()
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]int{"read": n})
		return
	}
	http.Redirect(w, r, chatURL(waID), http.StatusSeeOther)
}

// pathNumber reads the chat's number from the path; "+49…" and "49…" are the
// same chat. A path that is not a number gets the chat list with an error.
func (p *Phone) pathNumber(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw := r.PathValue("wa_id")
	waID, ok := NormalizeNumber(raw)
	if ok {
		return waID, true
	}
	if wantsJSON(r) {
		writeJSONError(w, http.StatusNotFound, "invalid_number", "Not a phone number in international format.")
		return "", false
	}
	m := p.indexModel(r.Context())
	m.Number = raw
	m.NumberError = "That is not a phone number in international format."
	p.render(w, r, http.StatusNotFound, m)
	return "", false
}

func (p *Phone) parseForm(w http.ResponseWriter, r *http.Request, waID string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		p.refuse(w, r, waID, "invalid_form", "The form could not be read.", "")
		return false
	}
	return true
}

// refuse answers a post that changed nothing: the chat again with the
// problem (422), or a JSON error.
func (p *Phone) refuse(w http.ResponseWriter, r *http.Request, waID, code, problem, reply string) {
	if wantsJSON(r) {
		writeJSONError(w, http.StatusUnprocessableEntity, code, problem)
		return
	}
	m := p.chatModel(waID)
	m.Chat.Error, m.Chat.Reply = problem, reply
	p.render(w, r, http.StatusUnprocessableEntity, m)
}

func (p *Phone) unavailable(w http.ResponseWriter, r *http.Request) {
	if wantsJSON(r) {
		writeJSONError(w, http.StatusServiceUnavailable, "closed", "The sandbox is shutting down.")
		return
	}
	http.Error(w, "The sandbox is shutting down.", http.StatusServiceUnavailable)
}

// written answers a post that stored the person's message.
func (p *Phone) written(w http.ResponseWriter, r *http.Request, waID string, b views.SandboxBubble) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusCreated, map[string]messageJSON{"message": bubbleJSON(b)})
		return
	}
	http.Redirect(w, r, chatURL(waID), http.StatusSeeOther)
}

func (p *Phone) render(w http.ResponseWriter, r *http.Request, status int, m views.SandboxModel) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := views.SandboxPage(m).Render(r.Context(), w); err != nil {
		p.log.Error("sandbox render failed", "error", err)
	}
}

// wantsJSON reports whether the client asked for JSON (sandbox.js does).
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// chatJSON is GET …/messages.json.
type chatJSON struct {
	WaID     string        `json:"wa_id"`
	Unread   int           `json:"unread"`
	Messages []messageJSON `json:"messages"`
}

// messageJSON is one bubble for sandbox.js. Tick and StatusLabel are given
// so that the script shows exactly what the page would.
type messageJSON struct {
	ID           string `json:"id"`
	FromBusiness bool   `json:"from_business"`
	Status       string `json:"status"`
	Tick         string `json:"tick"`
	StatusLabel  string `json:"status_label"`
	Timestamp    string `json:"timestamp"`
	Template     string `json:"template,omitempty"`
	Text         string `json:"text,omitempty"`
	ErrorCode    int    `json:"error_code,omitempty"`
}

func bubbleJSON(b views.SandboxBubble) messageJSON {
	return messageJSON{
		ID:           b.ID,
		FromBusiness: b.FromBusiness,
		Status:       b.Status,
		Tick:         b.Tick(),
		StatusLabel:  b.StatusLabel(),
		Timestamp:    b.TimeISO,
		Template:     b.TemplateName,
		Text:         b.PlainText(),
		ErrorCode:    b.ErrorCode,
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError answers in the API's error shape.
func writeJSONError(w http.ResponseWriter, status int, code, message string) {
	type body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	writeJSON(w, status, map[string]body{"error": {Code: code, Message: message}})
}
