// Package whatsapp adapts optin's message model to WhatsApp providers' wire formats.
//
// Three providers are supported. "360dialog" and "cloud" (Meta's Cloud API)
// speak the same Cloud API body and differ only in URL and authentication;
// "v1" is a reseller of the older on-premise API, whose body has no
// messaging_product, whose templates carry a namespace and whose read
// receipts are a PUT on the message. Webhooks from all of them are parsed by
// ParseWebhook, which accepts both payload shapes whatever the provider,
// because resellers forward either.
//
// Every failure of Send is a *consent.ProviderError, classified with
// consent.ClassifyCode, so that the dispatcher decides about retries without
// knowing which provider it talks to.
package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/optin/optin/consent"
)

// Provider names accepted in Config.Provider.
const (
	Provider360dialog = "360dialog"
	ProviderCloud     = "cloud"
	ProviderV1        = "v1"
)

// maxBody caps how much of a provider's answer is read: answers are a few
// hundred bytes, and a misbehaving proxy must not make optin buffer a page.
const maxBody = 1 << 20

// defaultTimeout bounds a request when the caller brings no http.Client;
// http.DefaultClient has no timeout and a hung provider would stall a worker.
const defaultTimeout = 30 * time.Second

// Config selects and authenticates a provider.
type Config struct {
	Provider      string // "360dialog" | "cloud" | "v1"
	URL           string // base URL; DefaultURL(Provider) when empty
	Token         string // D360-API-KEY, Cloud access token or WA-API-KEY
	PhoneNumberID string // cloud only: the sending number's id
	HTTPClient    *http.Client
}

// DefaultURL returns the provider's public API base URL, or "" when the
// provider has none (v1 resellers each run their own host).
func DefaultURL(provider string) string {
	switch provider {
	case Provider360dialog:
		return "https://waba-v2.360dialog.io"
	case ProviderCloud:
		return "https://graph.facebook.com/v21.0"
	}
	return ""
}

// client is the consent.Sender for one provider account. Its only mutable
// state is the contacts cache, behind a mutex, so one client serves every
// worker concurrently.
type client struct {
	provider string
	base     string // without trailing slash
	token    string
	phoneID  string
	hc       *http.Client
	now      func() time.Time // for Retry-After dates; a field so tests fix it
	// contacts caches v1 contacts checks (contacts.go); its only mutable state.
	contacts *contactCache
}

// New returns a Sender for cfg. Every problem with cfg is reported at once,
// so a misconfigured deployment fails at start with the whole list.
func New(cfg Config) (consent.Sender, error) {
	return newClient(cfg)
}

func newClient(cfg Config) (*client, error) {
	var errs []error
	switch cfg.Provider {
	case Provider360dialog, ProviderCloud, ProviderV1:
	case "":
		errs = append(errs, errors.New("whatsapp: provider is required (360dialog, cloud or v1)"))
	default:
		errs = append(errs, fmt.Errorf("whatsapp: unknown provider %q (want 360dialog, cloud or v1)", cfg.Provider))
	}
	base := strings.TrimSpace(cfg.URL)
	if base == "" {
		base = DefaultURL(cfg.Provider)
	}
	base = strings.TrimRight(base, "/")
	if base == "" {
		if cfg.Provider == ProviderV1 {
			errs = append(errs, errors.New("whatsapp: url is required for provider v1"))
		}
	} else if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, errors.New("whatsapp: url must be an absolute http(s) URL"))
	}
	if strings.TrimSpace(cfg.Token) == "" {
		errs = append(errs, errors.New("whatsapp: token is required"))
	}
	if cfg.Provider == ProviderCloud && strings.TrimSpace(cfg.PhoneNumberID) == "" {
		errs = append(errs, errors.New("whatsapp: phone number id is required for provider cloud"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	return &client{
		provider: cfg.Provider,
		base:     base,
		token:    cfg.Token,
		phoneID:  strings.TrimSpace(cfg.PhoneNumberID),
		hc:       hc,
		now:      time.Now,
		contacts: &contactCache{},
	}, nil
}

// Send delivers m to the provider. Failures the provider reports, failures
// on the way to it and messages it would certainly refuse (a template
// without a name…) are all *consent.ProviderError. Only when ctx itself is
// done is the context's error returned instead, wrapped: the attempt was
// abandoned by optin, not failed by the provider, and should not count as one.
func (c *client) Send(ctx context.Context, m consent.Message) (consent.SendResult, error) {
	method, target, body, err := c.request(m)
	if err != nil {
		return consent.SendResult{}, err
	}
	if to, err := c.checkContact(ctx, m); err != nil { // v1 templates only (contacts.go)
		return consent.SendResult{}, err
	} else if to != m.To {
		m.To = to
		if method, target, body, err = c.request(m); err != nil {
			return consent.SendResult{}, err
		}
	}
	status, header, resp, err := c.do(ctx, method, target, body)
	if err != nil {
		return consent.SendResult{}, err
	}
	env, parsed := decodeEnvelope(resp)
	if status < 200 || status > 299 || (parsed && env.failed()) {
		return consent.SendResult{}, c.providerError(status, header, env, parsed, sensitive(&m))
	}
	// A 2xx means the provider took the message: even when its answer
	// carries no id, sending again would deliver it twice.
	var res consent.SendResult
	if len(env.Messages) > 0 {
		res.MessageID = env.Messages[0].ID
	}
	if len(env.Contacts) > 0 {
		res.WaID = env.Contacts[0].WaID
	}
	return res, nil
}

// request builds the HTTP method, URL and JSON body for m in c's dialect.
func (c *client) request(m consent.Message) (method, target string, body []byte, err error) {
	if err := validate(c.provider, m); err != nil {
		return "", "", nil, err
	}
	if m.Kind == consent.KindRead && c.provider == ProviderV1 {
		return http.MethodPut, c.base + "/v1/messages/" + url.PathEscape(m.ReadID), []byte(`{"status":"read"}`), nil
	}
	body, err = marshalMessage(c.provider, m)
	if err != nil {
		return "", "", nil, invalid("cannot encode message")
	}
	return http.MethodPost, c.messagesURL(), body, nil
}

func (c *client) messagesURL() string {
	switch c.provider {
	case ProviderCloud:
		return c.base + "/" + url.PathEscape(c.phoneID) + "/messages"
	case ProviderV1:
		return c.base + "/v1/messages"
	}
	return c.base + "/messages"
}

// authorize sets the provider's authentication header.
func (c *client) authorize(h http.Header) {
	switch c.provider {
	case Provider360dialog:
		h.Set("D360-API-KEY", c.token)
	case ProviderCloud:
		h.Set("Authorization", "Bearer "+c.token)
	case ProviderV1:
		h.Set("WA-API-KEY", c.token)
	}
}

// do performs one request and returns the status, headers and the (capped)
// body. Its error is either the wrapped context error or a transient
// *consent.ProviderError for a failure on the network.
func (c *client) do(ctx context.Context, method, target string, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		// Only an unusable base URL gets here, and New checked it.
		return 0, nil, nil, invalid("cannot build request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	c.authorize(req.Header)
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, nil, nil, fmt.Errorf("whatsapp: %s %s: %w", c.provider, method, ctxErr)
		}
		return 0, nil, nil, networkError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil && ctx.Err() != nil {
		return 0, nil, nil, fmt.Errorf("whatsapp: %s %s: %w", c.provider, method, ctx.Err())
	}
	// A body cut off mid-way is still judged by its status: the provider has
	// answered, and for a 2xx the message is on its way.
	return resp.StatusCode, resp.Header, data, nil
}

// networkError describes a failure before any answer arrived. The title is
// the innermost error, without the URL, which for cloud holds an account id.
func networkError(err error) *consent.ProviderError {
	title := "network error"
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			title = "timeout"
		} else if ue.Err != nil {
			title = ue.Err.Error()
		}
	}
	return &consent.ProviderError{
		Class: consent.ErrTransient,
		Title: clip(title, maxTitle),
	}
}

// invalid reports a message optin will not send because the provider would
// refuse it: rejected, so the dispatcher fails it instead of retrying.
func invalid(reason string) *consent.ProviderError {
	return &consent.ProviderError{Class: consent.ErrRejected, Title: "invalid message: " + reason}
}
