package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/optin/optin/web/whatsapp"
)

// webhook runs "optin webhook register": it tells the provider to call
// BASE_URL/webhook with the X-Optin-Secret header (360dialog and v1; Meta's
// Cloud API is configured in its app dashboard instead).
func webhook(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "register" {
		return errors.New("usage: optin webhook register [serve flags]")
	}
	fs := newFlagSet()
	fs.SetOutput(stderr)
	cfg, err := loadConfig(args[1:], getenv, fs)
	if err != nil {
		return err
	}
	if cfg.Provider == "sandbox" {
		return errors.New("the sandbox needs no webhook registration: it calls optin's own /webhook")
	}
	url := cfg.BaseURL + "/webhook"
	err = whatsapp.RegisterWebhook(ctx, whatsapp.Config{
		Provider: cfg.Provider, URL: cfg.ProviderURL, Token: cfg.ProviderToken, PhoneNumberID: cfg.PhoneNumberID,
		HTTPClient: &http.Client{Timeout: 30 * time.Second},
	}, url, cfg.WebhookSecret)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "webhook registered at %s: %s with header X-Optin-Secret\n", cfg.Provider, url)
	return nil
}
