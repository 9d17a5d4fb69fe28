package sandbox

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// hook is one webhook call waiting in a chat's queue.
type hook struct {
	kind      string // "status" or "message", for the log
	messageID string
	body      []byte
	// done, when set, learns whether optin took the call; p.mu is held.
	done func(ok bool)
}

// The Cloud API webhook, as much of it as the sandbox sends.
type (
	cloudWebhook struct {
		Object string       `json:"object"`
		Entry  []cloudEntry `json:"entry"`
	}
	cloudEntry struct {
		ID      string        `json:"id"`
		Changes []cloudChange `json:"changes"`
	}
	cloudChange struct {
		Field string     `json:"field"`
		Value cloudValue `json:"value"`
	}
	cloudValue struct {
		MessagingProduct string         `json:"messaging_product"`
		Metadata         cloudMetadata  `json:"metadata"`
		Contacts         []cloudContact `json:"contacts,omitempty"`
		Messages         []cloudMessage `json:"messages,omitempty"`
		Statuses         []cloudStatus  `json:"statuses,omitempty"`
	}
	cloudMetadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	cloudContact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID string `json:"wa_id"`
	}
	cloudMessage struct {
		Context     *cloudContext     `json:"context,omitempty"`
		From        string            `json:"from"`
		ID          string            `json:"id"`
		Timestamp   string            `json:"timestamp"`
		Type        string            `json:"type"`
		Text        *cloudText        `json:"text,omitempty"`
		Button      *cloudButton      `json:"button,omitempty"`
		Interactive *cloudInteractive `json:"interactive,omitempty"`
	}
	cloudContext struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	cloudText struct {
		Body string `json:"body"`
	}
	cloudButton struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	}
	cloudInteractive struct {
		Type        string            `json:"type"`
		ButtonReply *cloudButtonReply `json:"button_reply,omitempty"`
		ListReply   *cloudButtonReply `json:"list_reply,omitempty"`
	}
	cloudButtonReply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	cloudStatus struct {
		ID          string       `json:"id"`
		Status      string       `json:"status"`
		Timestamp   string       `json:"timestamp"`
		RecipientID string       `json:"recipient_id"`
		Errors      []cloudError `json:"errors,omitempty"`
	}
	cloudError struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message,omitempty"`
	}
)

// sandboxID stands for the WhatsApp Business Account and phone number ids
// of a real webhook.
const sandboxID = "sandbox"

// webhook wraps a value in the Cloud API envelope.
func (p *Phone) webhook(v cloudValue) []byte {
	v.MessagingProduct = "whatsapp"
	v.Metadata = cloudMetadata{
		DisplayPhoneNumber: strings.TrimPrefix(p.opt.BusinessNumber, "+"),
		PhoneNumberID:      sandboxID,
	}
	body, err := json.Marshal(cloudWebhook{
		Object: "whatsapp_business_account",
		Entry:  []cloudEntry{{ID: sandboxID, Changes: []cloudChange{{Field: "messages", Value: v}}}},
	})
	if err != nil {
		panic("sandbox: encode webhook: " + err.Error()) // only strings and ints: cannot happen
	}
	return body
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// statusHook reports that the business's message m reached status st.
func (p *Phone) statusHook(c *chat, m *message, st consent.DeliveryStatus) hook {
	s := cloudStatus{ID: m.id, Status: string(st), Timestamp: unixString(p.now()), RecipientID: c.waID}
	if st == consent.StatusFailed {
		s.Errors = []cloudError{{Code: m.errorCode, Title: titleUndeliverable, Message: titleUndeliverable}}
	}
	return hook{kind: "status", messageID: m.id, body: p.webhook(cloudValue{Statuses: []cloudStatus{s}})}
}

// kindListReply is the kind of a person's message that picked a row of a
// list; WhatsApp sends it as an interactive list_reply.
const kindListReply = "list_reply"

// messageHook sends what the person wrote or tapped.
func (p *Phone) messageHook(c *chat, m *message) hook {
	cm := cloudMessage{From: c.waID, ID: m.id, Timestamp: unixString(m.at), Type: m.kind}
	if m.contextID != "" {
		cm.Context = &cloudContext{From: strings.TrimPrefix(p.opt.BusinessNumber, "+"), ID: m.contextID}
	}
	switch consent.InboundType(m.kind) {
	case consent.InText:
		cm.Text = &cloudText{Body: m.text}
	case consent.InButton:
		cm.Button = &cloudButton{Payload: m.buttonID, Text: m.text}
	case consent.InButtonReply:
		cm.Type = "interactive"
		cm.Interactive = &cloudInteractive{Type: "button_reply", ButtonReply: &cloudButtonReply{ID: m.buttonID, Title: m.text}}
	case kindListReply:
		cm.Type = "interactive"
		cm.Interactive = &cloudInteractive{Type: "list_reply", ListReply: &cloudButtonReply{ID: m.buttonID, Title: m.text}}
	}
	contact := cloudContact{WaID: c.waID}
	contact.Profile.Name = "Sandbox user"
	return hook{kind: "message", messageID: m.id, body: p.webhook(cloudValue{Contacts: []cloudContact{contact}, Messages: []cloudMessage{cm}})}
}

// enqueue queues h on c and starts c's poster if it is not running. After
// Close nothing is sent any more. p.mu is held.
func (p *Phone) enqueue(c *chat, h hook) {
	if p.closed {
		return
	}
	c.queue = append(c.queue, h)
	if !c.posting {
		c.posting = true
		p.wg.Add(1)
		go p.drain(c)
	}
}

// drain makes c's queued webhook calls one after the other.
func (p *Phone) drain(c *chat) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if len(c.queue) == 0 || p.ctx.Err() != nil {
			c.posting = false
			c.queue = nil
			p.mu.Unlock()
			return
		}
		h := c.queue[0]
		c.queue = c.queue[1:]
		p.mu.Unlock()

		ok := p.post(h)
		if h.done != nil && p.ctx.Err() == nil {
			p.mu.Lock()
			h.done(ok)
			p.mu.Unlock()
		}
	}
}

// post calls optin's webhook with h, retrying a few times with a growing
// pause while optin answers with an error or is not listening yet (the
// sandbox starts before the server does). It reports whether optin took it.
// The log names the message id, never the number or the text.
func (p *Phone) post(h hook) bool {
	if p.opt.WebhookURL == "" {
		p.log.Warn("sandbox webhook skipped: no webhook URL", "kind", h.kind, "message_id", h.messageID)
		return false
	}
	pause := p.backoff
	for attempt := 1; ; attempt++ {
		status, err := p.postOnce(h.body)
		if err == nil && status >= 200 && status <= 299 {
			p.log.Debug("sandbox webhook delivered", "kind", h.kind, "message_id", h.messageID, "attempts", attempt)
			return true
		}
		if p.ctx.Err() != nil {
			return false
		}
		if attempt >= p.retries {
			args := []any{"kind", h.kind, "message_id", h.messageID, "attempts", attempt, "http_status", status}
			if err != nil {
				args = append(args, "error", err)
			}
			p.log.Warn("sandbox webhook failed", args...)
			return false
		}
		if !p.sleep(pause) {
			return false
		}
		pause *= 2
	}
}

// postOnce makes one webhook call and returns optin's HTTP status.
func (p *Phone) postOnce(body []byte) (int, error) {
	req, err := http.NewRequestWithContext(p.ctx, http.MethodPost, p.opt.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "optin-sandbox")
	if p.opt.Secret != "" {
		req.Header.Set("X-Optin-Secret", p.opt.Secret)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	return resp.StatusCode, nil
}
