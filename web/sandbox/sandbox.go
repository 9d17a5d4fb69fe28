// Package sandbox is an in-process stand-in for WhatsApp, so that optin runs
// on one machine with no WhatsApp account. Phone is a consent.Sender: what
// optin sends appears on a phone simulator page under /sandbox, where one can
// open any number's chat, read the messages (with WhatsApp's formatting),
// write replies and tap buttons. Everything the simulated person does, and
// every sent, delivered, read and failed status, reaches optin as a Cloud API
// webhook through its real POST /webhook, so the sandbox exercises the same
// path as a real provider. Numbers ending in 0000 behave as not on WhatsApp.
// State lives in memory only and is lost on restart.
package sandbox

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/optin/optin/consent"
	"github.com/optin/optin/views"
)

// DefaultNumber is the business's number when Options.BusinessNumber is
// empty: a number reserved for fiction (555-01xx), valid in E.164.
const DefaultNumber = "+12025550199"

// Options configure a Phone.
type Options struct {
	// WebhookURL is optin's own POST /webhook, "http://127.0.0.1:8080/webhook".
	WebhookURL string
	// Secret is sent as the X-Optin-Secret header of every webhook call.
	Secret         string
	BusinessName   string
	BusinessNumber string // E.164, shown at the top of the chat
	Log            *slog.Logger
	// Client makes the webhook calls; by default one with a 10 s timeout.
	Client *http.Client
	// DeliverAfter is the delay before a message is "delivered"; 300ms by
	// default.
	DeliverAfter time.Duration
	// EntryPoints lists the entry points a number can write in through
	// (POST /sandbox/start); without it the chat list has no such form.
	EntryPoints func(ctx context.Context) ([]EntryChoice, error)
}

// Limits of the simulated WhatsApp.
const (
	maxChatMessages     = 500 // messages kept per chat; older ones are dropped
	undeliverableSuffix = "0000"
	// codeUndeliverable is what the Cloud API reports for a number that is
	// not on WhatsApp.
	codeUndeliverable  = 131026
	titleUndeliverable = "Message undeliverable"
)

// Phone is the sandbox: the simulated WhatsApp and all the phones that use
// it. Its methods are safe for concurrent use.
type Phone struct {
	opt    Options
	log    *slog.Logger
	client *http.Client
	now    func() time.Time
	// settle delays a message's first status, so that optin has recorded the
	// id Send returned before a status about it arrives, as with a real
	// provider, whose statuses always come after its answer.
	settle time.Duration
	// retries and backoff shape the webhook calls' retrying.
	retries int
	backoff time.Duration

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	chats  map[string]*chat
	// nextOut and nextIn number the message ids. They start at the time of
	// New in microseconds, so that ids stay unique across restarts: optin's
	// database outlives the sandbox's memory and ignores ids it has seen.
	nextOut, nextIn int64
}

// chat is one person's conversation with the business.
type chat struct {
	waID    string
	msgs    []*message
	updated time.Time
	// queue holds the webhook calls about this chat not yet made. One
	// goroutine at a time (posting) makes them, in order, so optin sees a
	// message's statuses, and the person's messages, in the order they
	// happened.
	queue   []hook
	posting bool
}

// message is one bubble.
type message struct {
	id           string
	fromBusiness bool
	// kind is the consent.MessageKind of a business message, or the
	// consent.InboundType of the person's.
	kind        string
	text        string // text, template preview, interactive body or tapped button's title
	template    *consent.Template
	interactive *consent.Interactive
	cards       []consent.Card
	buttonID    string // the tapped button's id or payload
	contextID   string // the message a tap answers
	at          time.Time
	status      consent.DeliveryStatus
	errorCode   int
	spans       []views.SandboxSpan // text formatted, once (see formatted)
	// reported is the last status queued for optin (business messages);
	// ready is set once statuses may be reported at all (see Phone.settle).
	reported consent.DeliveryStatus
	ready    bool
}

// New returns a sandbox phone. Call Close to stop its webhook calls.
func New(o Options) *Phone {
	if o.BusinessName == "" {
		o.BusinessName = "Example Business"
	}
	if o.BusinessNumber == "" {
		o.BusinessNumber = DefaultNumber
	}
	if digits, ok := NormalizeNumber(o.BusinessNumber); ok {
		o.BusinessNumber = "+" + digits
	}
	if o.DeliverAfter <= 0 {
		o.DeliverAfter = 300 * time.Millisecond
	}
	p := &Phone{
		opt:     o,
		log:     o.Log,
		client:  o.Client,
		now:     time.Now,
		settle:  min(o.DeliverAfter, 100*time.Millisecond),
		retries: 6,
		backoff: 100 * time.Millisecond,
		chats:   make(map[string]*chat),
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	base := time.Now().UnixMicro()
	p.nextOut, p.nextIn = base, base
	return p
}

// Close stops the webhook calls still waiting or under way and returns once
// every background goroutine has ended. Messages sent after Close fail.
func (p *Phone) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
}

// Send takes a message as WhatsApp would: it checks it, stores it in the
// recipient's chat and answers with its id at once; the statuses follow as
// webhooks. A message to a number that is not on WhatsApp is accepted too,
// and then fails with 131026, as in the Cloud API.
func (p *Phone) Send(ctx context.Context, m consent.Message) (consent.SendResult, error) {
	if err := ctx.Err(); err != nil {
		return consent.SendResult{}, fmt.Errorf("sandbox: send: %w", err)
	}
	if err := validate(m); err != nil {
		return consent.SendResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return consent.SendResult{}, &consent.ProviderError{Class: consent.ErrTransient, HTTPStatus: http.StatusServiceUnavailable, Title: "sandbox closed"}
	}
	if m.Kind == consent.KindRead {
		p.markInboundRead(m.ReadID)
		return consent.SendResult{}, nil
	}
	to, _ := NormalizeNumber(m.To) // validate checked it
	p.nextOut++
	msg := businessMessage("wamid.SANDBOX."+strconv.FormatInt(p.nextOut, 10), m, p.now())
	if undeliverable(to) {
		msg.status, msg.errorCode = consent.StatusFailed, codeUndeliverable
	}
	c := p.chat(to)
	c.add(msg)
	p.wg.Add(1)
	go p.deliver(c, msg)
	return consent.SendResult{MessageID: msg.id, WaID: to}, nil
}

// deliver reports a business message's first status after the settling
// delay, and delivers it after DeliverAfter.
func (p *Phone) deliver(c *chat, m *message) {
	defer p.wg.Done()
	if !p.sleep(p.settle) {
		return
	}
	p.mu.Lock()
	m.ready = true
	p.report(c, m)
	failed := m.status == consent.StatusFailed
	p.mu.Unlock()
	if failed || !p.sleep(p.opt.DeliverAfter) {
		return
	}
	p.mu.Lock()
	if m.status == consent.StatusSent {
		m.status = consent.StatusDelivered
		p.report(c, m)
	}
	p.mu.Unlock()
}

// statusOrder is the order in which WhatsApp reports a delivered message.
var statusOrder = []consent.DeliveryStatus{consent.StatusSent, consent.StatusDelivered, consent.StatusRead}

// report queues the statuses m went through since the last report: a
// message read before it was reported delivered is reported delivered, then
// read. p.mu is held.
func (p *Phone) report(c *chat, m *message) {
	if !m.ready || m.status == m.reported {
		return
	}
	if m.status == consent.StatusFailed {
		p.enqueue(c, p.statusHook(c, m, consent.StatusFailed))
		m.reported = consent.StatusFailed
		return
	}
	for _, st := range statusOrder {
		if st.Rank() > m.reported.Rank() && st.Rank() <= m.status.Rank() {
			p.enqueue(c, p.statusHook(c, m, st))
			m.reported = st
		}
	}
}

// read marks the business's messages in c read, as when the person opens
// the chat, and returns how many were unread. p.mu is held.
func (p *Phone) read(c *chat) int {
	n := 0
	for _, m := range c.msgs {
		if m.fromBusiness && (m.status == consent.StatusSent || m.status == consent.StatusDelivered) {
			m.status = consent.StatusRead
			p.report(c, m)
			n++
		}
	}
	return n
}

// writeText stores a text waID writes and sends it to optin. It reports
// false once the sandbox is closed.
func (p *Phone) writeText(waID, text string) (views.SandboxBubble, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return views.SandboxBubble{}, false
	}
	msg := &message{kind: string(consent.InText), text: text}
	p.write(p.chat(waID), msg)
	return p.bubble(msg), true
}

// write stores what the person wrote or tapped and sends it to optin. p.mu
// is held.
func (p *Phone) write(c *chat, m *message) {
	p.nextIn++
	m.id = "wamid.SANDBOXIN." + strconv.FormatInt(p.nextIn, 10)
	m.at = p.now()
	m.status = consent.StatusSent
	c.add(m)
	h := p.messageHook(c, m)
	h.done = func(ok bool) {
		switch {
		case m.status != consent.StatusSent:
		case ok:
			m.status = consent.StatusDelivered
		default:
			m.status = consent.StatusFailed
		}
	}
	p.enqueue(c, h)
}

// markInboundRead records that optin read the person's message id: its
// ticks turn blue on the person's phone. p.mu is held.
func (p *Phone) markInboundRead(id string) {
	for _, c := range p.chats {
		for _, m := range c.msgs {
			if m.id == id && !m.fromBusiness {
				if m.status != consent.StatusFailed {
					m.status = consent.StatusRead
				}
				return
			}
		}
	}
}

// chat returns the chat of waID, starting it if needed. p.mu is held.
func (p *Phone) chat(waID string) *chat {
	c := p.chats[waID]
	if c == nil {
		c = &chat{waID: waID}
		p.chats[waID] = c
	}
	return c
}

func (c *chat) add(m *message) {
	c.msgs = append(c.msgs, m)
	if n := len(c.msgs) - maxChatMessages; n > 0 {
		c.msgs = slices.Delete(c.msgs, 0, n)
	}
	c.updated = m.at
}

func (c *chat) find(id string) *message {
	for _, m := range c.msgs {
		if m.id == id {
			return m
		}
	}
	return nil
}

func (c *chat) unread() int {
	n := 0
	for _, m := range c.msgs {
		if m.fromBusiness && (m.status == consent.StatusSent || m.status == consent.StatusDelivered) {
			n++
		}
	}
	return n
}

// sleep waits d, or until Close; it reports whether the wait ended normally.
func (p *Phone) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// businessMessage copies what optin sent, so later changes to m's slices
// cannot reach the chat.
func businessMessage(id string, m consent.Message, at time.Time) *message {
	msg := &message{id: id, fromBusiness: true, kind: string(m.Kind), at: at, status: consent.StatusSent}
	switch m.Kind {
	case consent.KindText:
		msg.text = m.Text
	case consent.KindTemplate:
		t := *m.Template
		t.BodyParams = slices.Clone(t.BodyParams)
		t.Buttons = slices.Clone(t.Buttons)
		msg.template = &t
		msg.text = t.Preview
	case consent.KindInteractive:
		in := *m.Interactive
		in.Buttons = slices.Clone(in.Buttons)
		if in.List != nil {
			l := *in.List
			l.Sections = slices.Clone(l.Sections)
			for i := range l.Sections {
				l.Sections[i].Rows = slices.Clone(l.Sections[i].Rows)
			}
			in.List = &l
		}
		msg.interactive = &in
		msg.text = in.Body
	case consent.KindContacts:
		msg.cards = slices.Clone(m.Contacts)
	}
	return msg
}

// NormalizeNumber turns a phone number in international format, with or
// without "+" (or "00"), spaces, dashes, dots or parentheses, into the
// digits WhatsApp uses as wa_id. It reports false for anything else.
func NormalizeNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		s = rest
	} else if rest, ok := strings.CutPrefix(s, "00"); ok {
		s = rest
	}
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return "", false
		}
	}
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	return string(digits), true
}

// undeliverable reports whether the sandbox treats waID as not on WhatsApp.
func undeliverable(waID string) bool { return strings.HasSuffix(waID, undeliverableSuffix) }

// validate refuses, as the Cloud API would, the messages WhatsApp does not
// take, so that a mistake in optin shows up in the sandbox and not only with
// a real provider. Titles name the problem, never the content.
func validate(m consent.Message) error {
	if err := m.Validate(); err != nil {
		return invalid(err.Error())
	}
	if m.Kind != consent.KindRead {
		if _, ok := NormalizeNumber(m.To); !ok {
			return invalid("recipient is not a phone number")
		}
	}
	return nil
}

// invalid is the Cloud API's answer to a malformed request: 400 with code
// 100, "Invalid parameter".
func invalid(reason string) *consent.ProviderError {
	return &consent.ProviderError{Class: consent.ErrRejected, HTTPStatus: http.StatusBadRequest, Code: 100, Title: "invalid parameter: " + reason}
}
