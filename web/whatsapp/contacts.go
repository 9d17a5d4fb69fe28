package whatsapp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/optin/optin/consent"
)

// The v1 (on-premise) API has a contacts node, and the reseller's seed says
// to "check the contact-endpoint before sending messages": POST /v1/contacts
// {"blocking":"wait","contacts":["+…"]} answers per number "valid" with its
// wa_id, "invalid" (not on WhatsApp) or "failed" (not a phone number).
//
// optin checks before a business-initiated message (a template) to a number
// it has not checked within contactCheckTTL, waits for the answer (blocking),
// sends to the wa_id it returns, and turns "invalid" or "failed" into an
// undeliverable error (code 1013, as /v1/messages would answer) without
// calling /v1/messages. Replies need no check: the person just wrote from
// that wa_id (Meta: "you do not need to check contacts when responding to
// incoming customer messages"), and checking only what optin then sends keeps
// the calls below the messages sent, as Meta requires of this endpoint.
//
// Meta's container caches the results for 7 days, so optin keeps them as long,
// in memory: a restart checks again, which costs one call per number.

// contactCheckTTL is how long a contacts result is used.
const contactCheckTTL = 7 * 24 * time.Hour

// contactCacheMax bounds the numbers remembered (about 100 bytes each).
const contactCacheMax = 200_000

type contactResult struct {
	waID  string // "" when not valid
	valid bool
	at    time.Time
}

// contactCache remembers contacts results per number.
type contactCache struct {
	mu sync.Mutex
	m  map[string]contactResult
}

func (cc *contactCache) get(number string, now time.Time) (contactResult, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	r, ok := cc.m[number]
	if !ok || now.Sub(r.at) >= contactCheckTTL {
		return contactResult{}, false
	}
	return r, true
}

func (cc *contactCache) put(number string, r contactResult) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.m == nil {
		cc.m = map[string]contactResult{}
	}
	if len(cc.m) >= contactCacheMax {
		for k, old := range cc.m {
			if r.at.Sub(old.at) >= contactCheckTTL {
				delete(cc.m, k)
			}
		}
		if len(cc.m) >= contactCacheMax {
			clear(cc.m) // all fresh: checking again is cheaper than growing
		}
	}
	cc.m[number] = r
}

// contactsAnswer is the body of a /v1/contacts answer.
type contactsAnswer struct {
	Contacts []struct {
		Input  string `json:"input"`
		Status string `json:"status"`
		WaID   string `json:"wa_id"`
	} `json:"contacts"`
}

// checkContact returns the wa_id to send m to, checking the number with the
// contacts node first when m is a template for v1. It returns an
// undeliverable *consent.ProviderError for a number that is not on WhatsApp.
func (c *client) checkContact(ctx context.Context, m consent.Message) (string, error) {
	if c.provider != ProviderV1 || m.Kind != consent.KindTemplate || m.To == "" {
		return m.To, nil
	}
	number := "+" + strings.TrimPrefix(m.To, "+")
	now := c.now()
	if r, ok := c.contacts.get(number, now); ok {
		if !r.valid {
			return "", notOnWhatsApp()
		}
		return r.waID, nil
	}
	body, _ := json.Marshal(map[string]any{"blocking": "wait", "contacts": []string{number}})
	status, header, resp, err := c.do(ctx, http.MethodPost, c.base+"/v1/contacts", body)
	if err != nil {
		return "", err
	}
	env, parsed := decodeEnvelope(resp)
	if status < 200 || status > 299 || (parsed && env.failed()) {
		return "", c.providerError(status, header, env, parsed, sensitive(&m))
	}
	var a contactsAnswer
	if err := json.Unmarshal(resp, &a); err != nil || len(a.Contacts) == 0 {
		// The provider answered but said nothing usable: send as before
		// rather than hold the person's welcome on a reseller's quirk.
		return m.To, nil
	}
	r := a.Contacts[0]
	switch r.Status {
	case "valid":
		waID := r.WaID
		if waID == "" {
			waID = m.To
		}
		c.contacts.put(number, contactResult{waID: waID, valid: true, at: now})
		return waID, nil
	case "invalid", "failed":
		c.contacts.put(number, contactResult{at: now})
		return "", notOnWhatsApp()
	}
	// "processing" only answers non-blocking checks; anything else: send.
	return m.To, nil
}

// notOnWhatsApp is the error of a number the contacts node calls invalid:
// the code /v1/messages answers for it, so the contact becomes undeliverable.
func notOnWhatsApp() *consent.ProviderError {
	return &consent.ProviderError{Class: consent.ErrUndeliverable, Code: 1013,
		Title: "not a WhatsApp user (contacts check)", HTTPStatus: http.StatusOK}
}
