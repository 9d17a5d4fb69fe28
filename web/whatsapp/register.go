package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// SecretHeader is the header the provider is asked to send with every
// webhook call, carrying the secret given to RegisterWebhook, so optin's
// webhook handler can tell the provider's calls from anyone else's.
const SecretHeader = "X-Optin-Secret"

// RegisterWebhook tells a 360dialog or v1 provider where to send webhooks:
// POST {url}/v1/configs/webhook with the callback URL and the secret header.
// Cloud API webhooks are configured in Meta's app dashboard instead, so
// provider cloud is an error. Failures the provider reports are
// *consent.ProviderError, as for Send.
func RegisterWebhook(ctx context.Context, cfg Config, callbackURL, secret string) error {
	c, err := newClient(cfg)
	if err != nil {
		return err
	}
	if c.provider != Provider360dialog && c.provider != ProviderV1 {
		return fmt.Errorf("whatsapp: provider %s has no webhook registration API; configure the webhook in Meta's app dashboard", c.provider)
	}
	if u, err := url.Parse(callbackURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("whatsapp: webhook url must be an absolute http(s) URL")
	}
	if secret == "" {
		// Without it the webhook handler cannot authenticate calls and
		// anyone could post opt-outs.
		return errors.New("whatsapp: webhook secret is required")
	}
	body, err := json.Marshal(struct {
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	}{callbackURL, map[string]string{SecretHeader: secret}})
	if err != nil {
		return fmt.Errorf("whatsapp: encode webhook config: %w", err)
	}
	status, header, resp, err := c.do(ctx, http.MethodPost, c.base+"/v1/configs/webhook", body)
	if err != nil {
		return err
	}
	env, parsed := decodeEnvelope(resp)
	if status < 200 || status > 299 || (parsed && env.failed()) {
		return c.providerError(status, header, env, parsed, []string{secret, callbackURL})
	}
	return nil
}
